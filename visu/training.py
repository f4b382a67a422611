"""Training, many steps per Python call: the rungs' training_step run over mini-batches.

A Python call into TensorFlow costs more than a whole training step on the dense rungs, so
`Trainer` runs all the steps between two reports inside one `tf.function` (a `tf.range` loop
over a stack of mini-batches) and only then comes back to Python. The runner trains through
it, and so do the benchmarks.
"""

import time

BATCH_SIZE = 100


def many_training_steps(training_step, images, labels):
    """A tf.function running `training_step` once per mini-batch of a stack of mini-batches:
    `training_steps(images[steps, 100, ...], labels[steps, 100, ...], first_iteration)`.

    One Python call for many steps: on the dense rungs the call costs more than the step.
    The first training step must run alone, before: it creates the optimizer's variables,
    which TensorFlow cannot do inside a loop. (XLA, jit_compile=True, measured 2x slower
    on the convolutional rungs on CPU: not used.)
    """
    import tensorflow as tf

    @tf.function(input_signature=[
        tf.TensorSpec([None, BATCH_SIZE, *images.shape[1:]], tf.float32),
        tf.TensorSpec([None, BATCH_SIZE, *labels.shape[1:]], labels.dtype),
        tf.TensorSpec([], tf.int32)])
    def training_steps(images, labels, first_iteration):
        for k in tf.range(tf.shape(images)[0]):
            training_step(images[k], labels[k], tf.cast(first_iteration + k, tf.float32))

    return training_steps


class Trainer:
    """Trains a rung's `training_step(X, Y_, i)` on mini-batches of `train_set.next_batch`,
    many steps per Python call. The runner and the benchmarks train through it."""

    def __init__(self, training_step, train_set):
        self.training_step = training_step
        self.train_set = train_set
        self.training_steps = many_training_steps(training_step, train_set.images, train_set.labels)
        self.i = 0  # iterations done
        self.seconds_per_step = None  # measured, once traced
        self.last_batch = (train_set.images[:BATCH_SIZE], train_set.labels[:BATCH_SIZE])

    def train(self, steps):
        """Train `steps` iterations."""
        import tensorflow as tf
        images, labels = self.train_set.next_batch(steps * BATCH_SIZE)
        images = images.reshape(steps, BATCH_SIZE, *images.shape[1:])
        labels = labels.reshape(steps, BATCH_SIZE, *labels.shape[1:])
        started = time.perf_counter()
        if self.i == 0:  # the first step alone: see many_training_steps
            self.training_step(images[0], labels[0], tf.constant(0.0))
            if steps > 1:
                self.training_steps(images[1:], labels[1:], tf.constant(1))
        else:
            self.training_steps(images, labels, tf.constant(self.i))
        if self.i > 0:  # the first call includes tracing: not a speed measurement
            self.seconds_per_step = (time.perf_counter() - started) / steps
        self.last_batch = (images[-1], labels[-1])
        self.i += steps


def update_points(iterations, train_freq, test_freq, more_tests_at_start):
    """The iterations at which to report training and test results: {iteration: (train, test)}."""
    points = {}
    for i in range(0, iterations + 1):
        train = i % train_freq == 0 or i == iterations
        test = i % test_freq == 0 or i == iterations
        if more_tests_at_start and i < test_freq:
            test = train  # a denser test curve at the start, where it moves fast
        if train or test:
            points[i] = (train, test)
    return points
