"""TensorFlow and deep learning, without a PhD, rung 2.2: ReLU, decay, dropout, ~98.2%."""
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
# neural network with 5 layers: 4 hidden layers of ReLU neurons with dropout, then 10 softmax
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
# the activation function of the hidden layers: relu(x) = max(0, x), trains faster than sigmoid
activation = tf.nn.relu
# With ReLUs, biases start small and *positive* so that neurons start in their active zone
initial_bias = 0.1
# Weights start with small random values (a normal distribution cut at 2 standard deviations):
# if they all started equal, every neuron of a layer would compute, and learn, the same thing
W1 = tf.Variable(tf.random.truncated_normal([784, L], stddev=0.1))
B1 = tf.Variable(tf.constant(initial_bias, shape=[L]))
W2 = tf.Variable(tf.random.truncated_normal([L, M], stddev=0.1))
B2 = tf.Variable(tf.constant(initial_bias, shape=[M]))
W3 = tf.Variable(tf.random.truncated_normal([M, N], stddev=0.1))
B3 = tf.Variable(tf.constant(initial_bias, shape=[N]))
W4 = tf.Variable(tf.random.truncated_normal([N, O], stddev=0.1))
B4 = tf.Variable(tf.constant(initial_bias, shape=[O]))
W5 = tf.Variable(tf.random.truncated_normal([O, 10], stddev=0.1))
B5 = tf.Variable(tf.constant(initial_bias, shape=[10]))
allweights = [W1, W2, W3, W4, W5]
allbiases = [B1, B2, B3, B4, B5]


# The model: images X[batch, 28, 28, 1] in, logits and probabilities Y[batch, 10] out
# pkeep: the probability of keeping a neuron's output in dropout, 0.75 in training, 1.0 in tests.
# Dropout switches off a random quarter of the neurons at every step, so that no neuron can rely
# on a few others: the network generalises better and the test loss no longer climbs.
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
    XX = tf.reshape(X, [-1, 784])  # flatten the images into a single line of pixels
    Y1 = dropout(activation(tf.matmul(XX, W1) + B1), pkeep)
    Y2 = dropout(activation(tf.matmul(Y1, W2) + B2), pkeep)
    Y3 = dropout(activation(tf.matmul(Y2, W3) + B3), pkeep)
    Y4 = dropout(activation(tf.matmul(Y3, W4) + B4), pkeep)
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
# max 0.9808 (seed 1: 0.9823; codelab: 0.9817), final 0.9808; 10,000 iterations in 29 s
