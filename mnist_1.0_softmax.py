"""TensorFlow and deep learning, without a PhD, rung 1.0: one softmax layer, ~92%."""
import tensorflowvisu  # first: it sets TensorFlow's CPU options, which TensorFlow reads as it loads

# --help and a mistyped flag are answered at once, before TensorFlow (a few seconds) loads
args = tensorflowvisu.parse_args(__doc__, iterations=2000)

import keras
import tensorflow as tf

import mnistdata

# --- the data ---
# mnist.train: 60,000 images and their labels, mnist.test: 10,000 (downloaded if not found)
mnist = mnistdata.read_data_sets(args.data_dir, args.dataset, one_hot=True, reshape=False)

# --- the network ---
# neural network with 1 layer of 10 softmax neurons
#
# · · · · · · · · · ·   (input data, flattened pixels)         X [batch, 784]   # 784 = 28 * 28
# \x/x\x/x\x/x\x/x\x/   -- fully connected layer (softmax)     W [784, 10]      b[10]
#   · · · · · · · ·                                            Y [batch, 10]

# Every fully connected layer of neurons computes:  Y = activation( X * W + b )
#   X: input matrix, one line per image of the mini-batch (100 images), one column per input
#   W: weight matrix, one line per input value, one column per neuron
#   b: bias vector, one value per neuron; + adds it to every line of the matrix (broadcasting)
#   activation: softmax for the last layer: the exp of each value, divided by the sum of its
#               line, turns the 10 outputs of an image into probabilities that add up to 1
#   Y: output matrix, one line per image, one column per neuron

# weights and biases: the only things that training changes
W = tf.Variable(tf.zeros([784, 10]))
b = tf.Variable(tf.zeros([10]))
allweights = [W]
allbiases = [b]


# The model: images X[batch, 28, 28, 1] in, logits and probabilities Y[batch, 10] out
def model(X):
    XX = tf.reshape(X, [-1, 784])  # flatten the images into a single line of pixels
    Ylogits = tf.matmul(XX, W) + b
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y


# --- loss and accuracy ---
# loss function: cross-entropy = - sum( Y_i * log(Yi) )
#                           Y: the computed output vector
#                           Y_: the desired output vector (the correct label, one-hot encoded)
# log takes the log of each element, * multiplies the tensors element by element
# reduce_mean adds all the components in the tensor and divides by their count
# (100 images x 10 classes), so * 1000 gives the cross-entropy of a whole batch of 100 images.
def cross_entropy(Ylogits, Y, Y_):
    return -tf.reduce_mean(Y_ * tf.math.log(Y)) * 1000.0


# accuracy of the trained model, between 0 (worst) and 1 (best)
@tf.function
def evaluate(X, Y_):
    Ylogits, Y = model(X)
    correct_prediction = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    return Y, accuracy, cross_entropy(Ylogits, Y, Y_)


# --- training ---
# training, learning rate = 0.005, with plain gradient descent
optimizer = keras.optimizers.SGD(learning_rate=0.005)


# One training step on a mini-batch: compute the loss and, with the GradientTape, its gradient
# with respect to every weight and bias; the optimizer then moves each of them a little
# in the direction that lowers the loss. (Every rung's training_step takes the iteration number
# i, and every cross_entropy the logits, also where they are not used yet: the calls stay the
# same up the ladder, and the diff of two rungs shows only what one teaches.)
@tf.function
def training_step(X, Y_, i):
    with tf.GradientTape() as tape:
        Ylogits, Y = model(X)
        loss = cross_entropy(Ylogits, Y, Y_)
    gradients = tape.gradient(loss, allweights + allbiases)
    optimizer.apply_gradients(zip(gradients, allweights + allbiases))


# --- run it ---
# Train, with a live dashboard, or text lines with --text (see --help for all the flags).
# However the run ends, its last line is "max test accuracy: ..."
datavis = tensorflowvisu.MnistDataVis(args)
datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                train_data_update_freq=10, test_data_update_freq=50, more_tests_at_start=True)

# --- results --- test accuracy (seed 0, text mode, 2 CPU cores, TensorFlow 2.21)
# max 0.9236 (codelab: ~0.92, best 0.9268), final 0.9172; 2,000 iterations in 6 s
