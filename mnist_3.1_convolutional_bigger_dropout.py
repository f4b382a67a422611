"""TensorFlow and deep learning, without a PhD, rung 3.1: bigger convolutions, dropout, ~99.3%."""
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
# neural network with 5 layers: 3 convolutional, 1 fully connected of ReLUs with dropout, 10 softmax
#
# · · · · · · · · · ·   (input data, 1-deep)                   X [batch, 28, 28, 1]
# @ @ @ @ @ @ @ @ @ @   -- conv. layer 6x6x1=>L stride 1       W1 [6, 6, 1, L]    B1[L]
# ∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶                                          Y1 [batch, 28, 28, L]
#   @ @ @ @ @ @ @ @     -- conv. layer 5x5xL=>M stride 2       W2 [5, 5, L, M]    B2[M]
#   ∶∶∶∶∶∶∶∶∶∶∶∶∶∶∶                                            Y2 [batch, 14, 14, M]
#     @ @ @ @ @ @       -- conv. layer 4x4xM=>N stride 2       W3 [4, 4, M, N]    B3[N]
#     ∶∶∶∶∶∶∶∶∶∶∶                                              Y3 [batch, 7, 7, N]
#      \x/x\x\x/        -- fully connected layer (hidden)      W4 [7*7*N, O]      B4[O]
#        · · ·                                                 Y4 [batch, O]
#         \x/           -- fully connected layer (softmax)     W5 [O, 10]         B5[10]
#          ·                                                   Y [batch, 10]

# Every fully connected layer of neurons computes:  Y = activation( X * W + b )
#   X: input matrix, one line per image of the mini-batch (100 images), one column per input
#   W: weight matrix, one line per input value, one column per neuron
#   b: bias vector, one value per neuron; + adds it to every line of the matrix (broadcasting)
#   activation: softmax for the last layer: the exp of each value, divided by the sum of its
#               line, turns the 10 outputs of an image into probabilities that add up to 1
#   Y: output matrix, one line per image, one column per neuron
# A convolutional layer slides small patches of weights over the image: each output pixel is the
# weighted sum of the pixels under a patch, in all input channels, plus a bias; L patches give L
# output channels. A stride of 2 halves width and height. It keeps the 2D shape of the image.

# weights and biases: the only things that training changes
# output channels of the three convolutional layers, then neurons in the fully connected layer
L, M, N, O = 6, 12, 24, 200
# the activation function of the hidden layers: relu(x) = max(0, x), trains faster than sigmoid
activation = tf.nn.relu
# With ReLUs, biases start small and *positive* so that neurons start in their active zone
initial_bias = 0.1
# Weights start with small random values (a normal distribution cut at 2 standard deviations):
# if they all started equal, every neuron of a layer would compute, and learn, the same thing
W1 = tf.Variable(tf.random.truncated_normal([6, 6, 1, L], stddev=0.1))  # 6x6 patch, 1 in, L out
B1 = tf.Variable(tf.constant(initial_bias, shape=[L]))
W2 = tf.Variable(tf.random.truncated_normal([5, 5, L, M], stddev=0.1))
B2 = tf.Variable(tf.constant(initial_bias, shape=[M]))
W3 = tf.Variable(tf.random.truncated_normal([4, 4, M, N], stddev=0.1))
B3 = tf.Variable(tf.constant(initial_bias, shape=[N]))
W4 = tf.Variable(tf.random.truncated_normal([7 * 7 * N, O], stddev=0.1))
B4 = tf.Variable(tf.constant(initial_bias, shape=[O]))
W5 = tf.Variable(tf.random.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.constant(initial_bias, shape=[10]))
allweights = [W1, W2, W3, W4, W5]
allbiases = [B1, B2, B3, B4, B5]


# The model: images X[batch, 28, 28, 1] in, logits and probabilities Y[batch, 10] out
# pkeep: the probability of keeping a neuron's output in dropout, 0.75 in training, 1.0 in tests.
# Dropout on the fully connected layer, where most of the weights are, keeps the bigger network
# from memorising the training images: the test loss no longer climbs.
# The outputs kept are divided by pkeep: the next layer gets the same sum, on average.
# (tf.nn.dropout(Y, rate=1 - pkeep) does the same, but XLA, which compiles the dense rungs'
# training, ignores its seed: written out, dropout follows --seed on every rung.)
dropout_random = tf.random.Generator.from_seed(args.seed)


def dropout(Y, pkeep):
    if pkeep == 1.0:  # in tests: every neuron counts
        return Y
    keep = dropout_random.uniform(tf.shape(Y)) < pkeep  # True with probability pkeep
    return tf.where(keep, Y / pkeep, 0.0)


def model(X, pkeep):
    Y1 = activation(tf.nn.conv2d(X, W1, strides=1, padding="SAME") + B1)  # output is 28x28
    Y2 = activation(tf.nn.conv2d(Y1, W2, strides=2, padding="SAME") + B2)  # output is 14x14
    Y3 = activation(tf.nn.conv2d(Y2, W3, strides=2, padding="SAME") + B3)  # output is 7x7
    YY = tf.reshape(Y3, [-1, 7 * 7 * N])  # flatten the last convolution's channels into one line
    Y4 = dropout(activation(tf.matmul(YY, W4) + B4), pkeep)
    Ylogits = tf.matmul(Y4, W5) + B5
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y


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
    Ylogits, Y = model(X, pkeep=1.0)
    correct_prediction = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    return Y, accuracy, cross_entropy(Ylogits, Y, Y_)


# --- training ---
# training, learning rate = 0.003, with the Adam optimizer: it adapts the step size of every
# weight to the history of its gradients, and trains much faster than plain gradient descent
optimizer = keras.optimizers.Adam(learning_rate=0.003)


# learning rate decay: big steps at first, then smaller and smaller ones, from 0.003 to 0.0001,
# so that the training settles in a minimum instead of bouncing around it (less noisy curves)
def learning_rate(i):
    return 0.0001 + 0.003 * tf.math.exp(-i / 2000)


# One training step on a mini-batch: compute the loss and, with the GradientTape, its gradient
# with respect to every weight and bias; the optimizer then moves each of them a little
# in the direction that lowers the loss. (Every rung's training_step takes the iteration number
# i, and every cross_entropy the logits, also where they are not used yet: the calls stay the
# same up the ladder, and the diff of two rungs shows only what one teaches.)
@tf.function
def training_step(X, Y_, i):
    optimizer.learning_rate.assign(learning_rate(i))
    with tf.GradientTape() as tape:
        Ylogits, Y = model(X, pkeep=0.75)
        loss = cross_entropy(Ylogits, Y, Y_)
    gradients = tape.gradient(loss, allweights + allbiases)
    optimizer.apply_gradients(zip(gradients, allweights + allbiases))


# --- run it ---
# Train, with a live dashboard, or text lines with --text (see --help for all the flags).
# However the run ends, its last line is "max test accuracy: ..."
datavis = tensorflowvisu.MnistDataVis(args)
datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                train_data_update_freq=20, test_data_update_freq=100, more_tests_at_start=True)

# --- results --- test accuracy (seed 0, text mode, 2 CPU cores, TensorFlow 2.21)
# max 0.9929 (seeds 1, 2: 0.9916, 0.9926; codelab 0.9928-0.9931), final 0.9926; 3m37s, 0.99 at 2,000
