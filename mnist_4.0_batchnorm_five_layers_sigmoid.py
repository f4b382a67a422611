"""TensorFlow and deep learning, without a PhD, rung 4.0: five sigmoid layers, batch norm, ~98%."""
import tensorflowvisu  # first: it sets TensorFlow's CPU options, which TensorFlow reads as it loads

# --help and a mistyped flag are answered at once, before TensorFlow (a few seconds) loads
args = tensorflowvisu.parse_args(__doc__, iterations=10000)

import keras
import tensorflow as tf

import mnistdata

# --- the data ---
# mnist.train: 60,000 images and their labels, mnist.test: 10,000 (downloaded if not found)
mnist = mnistdata.read_data_sets(args.data_dir, args.dataset, one_hot=True, reshape=False)

# --- the network ---
# neural network with 5 layers: 4 hidden layers of sigmoid neurons with batch norm, 10 softmax
#
# · · · · · · · · · ·   (input data, flattened pixels)         X [batch, 784]   # 784 = 28 * 28
# \x/x\x/x\x/x\x/x\x/   -- fully connected layer (hidden)      W1 [784, 200]    B1[200]
#  · · · · · · · · ·                                           Y1 [batch, 200]
#   \x/x\x/x\x/x\x/     -- fully connected layer (hidden)      W2 [200, 100]    B2[100]
#    · · · · · · ·                                             Y2 [batch, 100]
#     \x/x\x/x\x/       -- fully connected layer (hidden)      W3 [100, 60]     B3[60]
#      · · · · ·                                               Y3 [batch, 60]
#       \x/x\x/         -- fully connected layer (hidden)      W4 [60, 30]      B4[30]
#        · · ·                                                 Y4 [batch, 30]
#         \x/           -- fully connected layer (softmax)     W5 [30, 10]      B5[10]
#          ·                                                   Y [batch, 10]

# Every fully connected layer of neurons computes:  Y = activation( X * W + b )
#   X: input matrix, one line per image of the mini-batch (100 images), one column per input
#   W: weight matrix, one line per input value, one column per neuron
#   b: bias vector, one value per neuron; + adds it to every line of the matrix (broadcasting)
#   activation: softmax for the last layer: the exp of each value, divided by the sum of its
#               line, turns the 10 outputs of an image into probabilities that add up to 1
#   Y: output matrix, one line per image, one column per neuron

# weights and biases: the only things that training changes
# numbers of neurons in the four hidden layers (the last layer has 10 softmax neurons)
L, M, N, O = 200, 100, 60, 30
# the activation function of the hidden layers: sigmoid(x) = 1 / (1 + exp(-x)), between 0 and 1
activation = tf.nn.sigmoid
initial_bias = 0.0
# Weights start with small random values (a normal distribution cut at 2 standard deviations):
# if they all started equal, every neuron of a layer would compute, and learn, the same thing
# BN: moving averages of the means and variances of n weighted sums: set by training, not trained
def moving_averages(n):
    return tf.Variable(tf.zeros([n]), trainable=False), tf.Variable(tf.ones([n]), trainable=False)


W1 = tf.Variable(tf.random.truncated_normal([784, L], stddev=0.1))
B1 = tf.Variable(tf.constant(initial_bias, shape=[L]))
S1, A1 = tf.Variable(tf.ones([L])), moving_averages(L)
W2 = tf.Variable(tf.random.truncated_normal([L, M], stddev=0.1))
B2 = tf.Variable(tf.constant(initial_bias, shape=[M]))
S2, A2 = tf.Variable(tf.ones([M])), moving_averages(M)
W3 = tf.Variable(tf.random.truncated_normal([M, N], stddev=0.1))
B3 = tf.Variable(tf.constant(initial_bias, shape=[N]))
S3, A3 = tf.Variable(tf.ones([N])), moving_averages(N)
W4 = tf.Variable(tf.random.truncated_normal([N, O], stddev=0.1))
B4 = tf.Variable(tf.constant(initial_bias, shape=[O]))
S4, A4 = tf.Variable(tf.ones([O])), moving_averages(O)
W5 = tf.Variable(tf.random.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.constant(initial_bias, shape=[10]))
allweights = [W1, W2, W3, W4, W5, S1, S2, S3, S4]  # the BN scales S multiply, as weights do
allbiases = [B1, B2, B3, B4, B5]


# Batch normalisation (BN), before the activation: each neuron's weighted sums XW, minus their
# mean over the mini-batch, divided by their standard deviation, then scaled by S and offset by B
# (both learned; B replaces the bias): the sigmoids stay in their useful range. A test image must
# not depend on its batch: tests use moving averages A of the training batches' means and
# variances, which training moves towards each batch's (faster at first: i is the iteration).
def batchnorm(XW, B, S, A, training, i):
    if training:
        mean, variance = tf.nn.moments(XW, axes=[0])  # over the batch, for each neuron
        decay = tf.minimum(0.998, (1 + i) / (10 + i))
        A[0].assign(decay * A[0] + (1 - decay) * mean)
        A[1].assign(decay * A[1] + (1 - decay) * variance)
    else:
        mean, variance = A
    return (XW - mean) * tf.math.rsqrt(variance + 1e-5) * S + B  # rsqrt(v) = 1/sqrt(v)


# The model: images X[batch, 28, 28, 1] in, logits and probabilities Y[batch, 10] out
def model(X, training=False, i=0.0):
    XX = tf.reshape(X, [-1, 784])  # flatten the images into a single line of pixels
    XW1 = tf.matmul(XX, W1)
    Y1 = activation(batchnorm(XW1, B1, S1, A1, training, i))
    XW2 = tf.matmul(Y1, W2)
    Y2 = activation(batchnorm(XW2, B2, S2, A2, training, i))
    XW3 = tf.matmul(Y2, W3)
    Y3 = activation(batchnorm(XW3, B3, S3, A3, training, i))
    XW4 = tf.matmul(Y3, W4)
    Y4 = activation(batchnorm(XW4, B4, S4, A4, training, i))
    Ylogits = tf.matmul(Y4, W5) + B5
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y, [XW1, XW2, XW3, XW4], [Y1, Y2, Y3, Y4]


# --- loss and accuracy ---
# loss function: cross-entropy = - sum( Y_i * log(Yi) )
#                           Y: the computed output vector
#                           Y_: the desired output vector (the correct label, one-hot encoded)
# log takes the log of each element, * multiplies the tensors element by element
# reduce_mean adds all the components in the tensor and divides by their count
# log(Yi) is -infinity when a probability rounds to 0, and the loss becomes NaN ("not a number"):
# softmax_cross_entropy_with_logits computes softmax and log together from the logits, safely.
# It gives one value per image: reduce_mean over the batch, * 100 for a batch of 100 images
def cross_entropy(Ylogits, Y, Y_):
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=Ylogits, labels=Y_)) * 100


# accuracy of the trained model, between 0 (worst) and 1 (best)
@tf.function
def evaluate(X, Y_):
    Ylogits, Y, weighted_sums, activations = model(X)
    correct_prediction = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    return Y, accuracy, cross_entropy(Ylogits, Y, Y_), weighted_sums, activations


# --- training ---
# training, with the Adam optimizer (learning rate: see below): it adapts the step size of every
# weight to the history of its gradients, and trains much faster than plain gradient descent
optimizer = keras.optimizers.Adam(learning_rate=0.003)


# learning rate decay, set at each step: from 0.03, ten times higher than without BN, which keeps
# the weighted sums in the sigmoids' useful range, where big steps would saturate them (try it!)
def learning_rate(i):
    return 0.0001 + 0.03 * tf.math.exp(-i / 2000)


# One training step on a mini-batch: compute the loss and, with the GradientTape, its gradient
# with respect to every weight and bias; the optimizer then moves each of them a little
# in the direction that lowers the loss. (Every rung's training_step takes the iteration number
# i, and every cross_entropy the logits, also where they are not used yet: the calls stay the
# same up the ladder, and the diff of two rungs shows only what one teaches.)
@tf.function
def training_step(X, Y_, i):
    optimizer.learning_rate.assign(learning_rate(i))
    with tf.GradientTape() as tape:
        Ylogits, Y, weighted_sums, activations = model(X, training=True, i=i)
        loss = cross_entropy(Ylogits, Y, Y_)
    gradients = tape.gradient(loss, allweights + allbiases)
    optimizer.apply_gradients(zip(gradients, allweights + allbiases))


# --- run it ---
# Train, with a live dashboard, or text lines with --text (see --help for all the flags).
# However the run ends, its last line is "max test accuracy: ..."
datavis = tensorflowvisu.MnistDataVis(args, title4="Weighted sums, before BN", title5="Activations")
datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                train_data_update_freq=20, test_data_update_freq=100, more_tests_at_start=True)

# --- results --- test accuracy (seed 0, text mode, 2 CPU cores, TensorFlow 2.21)
# max 0.9838 (original: 0.9859), final 0.9827; 10,000 iterations in 24 s
