"""Training, many steps per Python call: the rungs' training_step run over mini-batches.

A Python call into TensorFlow costs more than a whole training step on the dense rungs, so
`Trainer` runs all the steps between two reports inside one `tf.function` (a loop over a
stack of mini-batches, gathered in the graph from the training set) and only then comes back
to Python. The runner trains through
it, and so do the benchmarks.
"""

import os

import numpy as np

BATCH_SIZE = 100
CHUNK_CAPACITY = 32  # mini-batches per call at most: the calls' inputs have one shape (see below)
SMALL_MODEL = 50_000  # weights and biases: a model this small trains two steps per pass (Trainer)


def many_training_steps(training_step, images, labels, xla=False, steps_per_pass=1):
    """A tf.function running `training_step` once per mini-batch:
    `training_steps(batches[CHUNK_CAPACITY, 100], steps, first_iteration)`, where the first
    `steps` rows of `batches` hold the indices of each mini-batch's examples in `images` and
    `labels`, tensors that stay where TensorFlow computes (the batches are gathered there, not
    copied from numpy at every call). Inputs of one shape: XLA compiles once, not once per
    number of steps.

    One Python call for many steps: on the dense rungs the call costs more than the step.
    The first training step must run alone, before: it creates the optimizer's variables,
    which TensorFlow cannot do inside a loop. xla: compile the whole loop with XLA
    (jit_compile=True), which fuses each step's small operations: see Trainer.
    steps_per_pass: training steps written one after the other in each pass of the loop (the
    rest of the steps, if any, then one at a time): see Trainer.
    """
    import tensorflow as tf

    @tf.function(jit_compile=xla, input_signature=[
        tf.TensorSpec([CHUNK_CAPACITY, BATCH_SIZE], tf.int32), tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32)])
    def training_steps(batches, steps, first_iteration):
        def train_on(k):  # the k-th mini-batch of the call
            X, Y_ = tf.gather(images, batches[k]), tf.gather(labels, batches[k])
            training_step(X, Y_, tf.cast(first_iteration + k, tf.float32))

        # a loop in the graph; not `for k in tf.range(steps)`, whose tensor of `steps` values
        # XLA must know the size of when it compiles: it would compile again for every new count
        k = tf.constant(0)
        while k + steps_per_pass <= steps:
            for j in range(steps_per_pass):  # a Python loop: the steps written out in the graph
                train_on(k + j)
            k += steps_per_pass
        if steps_per_pass > 1:  # (a Python int: decided as the loop is traced)
            while k < steps:  # what is left, fewer than steps_per_pass: one at a time
                train_on(k)
                k += 1

    return training_steps


def traced(training_step, *example):
    """The trace a tf.function made for these inputs (None for a plain Python function)."""
    if not hasattr(training_step, "get_concrete_function"):
        return None
    return training_step.get_concrete_function(*example)  # the trace made already


def has_convolutions(trace):
    """Whether a trace computes convolutions (its graph has Conv2D operations)."""
    return trace is not None and any(op.type.startswith("Conv")
                                     for op in trace.graph.get_operations())


def weight_count(trace):
    """How many weights and biases a trace trains (its trainable variables); None without one."""
    if trace is None:
        return None
    return sum(variable.shape.num_elements() for variable in trace.trainable_variables)


class Trainer:
    """Trains a rung's `training_step(X, Y_, i)` on mini-batches of `train_set`, in the order
    of its `next_indices`, many steps per Python call. The runner and the benchmarks train
    through it.

    xla: None decides after the first step, from what the step computes. XLA makes the dense
    rungs 1.3-1.9x faster on a CPU (it fuses their many small operations), and the
    convolutional ones 5-8x slower (its convolutions do not use oneDNN's): measured with
    bench/speed.py; so XLA unless the step has convolutions. TFVISU_XLA=0 or 1 forces it.

    steps_per_pass: None decides after the first step too: 2 for a model of fewer than
    SMALL_MODEL weights trained with XLA, 1 otherwise. With two steps in each pass of the loop,
    XLA's scheduler gathers the second step's mini-batch from memory on the second core while
    the first step trains. That pays where the gather is a big part of the step: rung 1.0
    (7,850 weights, a step of 0.15-0.18 ms) trains 16% faster (0.148 against 0.176 ms, 12
    rounds alternated in one process; 0.85 of the time across 8 alternated processes), for
    0.09 s more compilation (a third copy of the step, for the odd steps). Four rungs of five
    layers (~185,000 weights) were 5% slower, rung 2.0 6% faster. The weights come out the
    same, to the bit.
    """

    def __init__(self, training_step, train_set, xla=None, steps_per_pass=None):
        self.training_step = training_step
        self.train_set = train_set
        self.tensors = None  # the training set's images and labels where TensorFlow computes
        forced = os.environ.get("TFVISU_XLA", "")
        self.xla = xla if xla is not None or forced == "" else forced != "0"
        self.steps_per_pass = steps_per_pass
        self.training_steps = None  # made after the first step (a tf.function)
        self._call_steps = None  # its one trace, called directly (see train)
        self.i = 0  # iterations done
        self.last_batch = (train_set.images[:BATCH_SIZE], train_set.labels[:BATCH_SIZE])

    def train(self, steps):
        """Train `steps` iterations."""
        import tensorflow as tf
        batches = self.train_set.next_indices(steps * BATCH_SIZE).reshape(steps, BATCH_SIZE)
        if self.i == 0:  # the first step alone: see many_training_steps
            first = (self.train_set.images[batches[0]], self.train_set.labels[batches[0]],
                     tf.constant(0.0))
            self.training_step(*first)
            trace = traced(self.training_step, *first)
            if self.xla is None:
                self.xla = not has_convolutions(trace)
            if self.steps_per_pass is None:
                weights = weight_count(trace) if self.xla else None
                self.steps_per_pass = 2 if weights is not None and weights < SMALL_MODEL else 1
            # copied once (0.1-0.5 s for MNIST), now rather than before the first report
            self.tensors = (tf.constant(self.train_set.images), tf.constant(self.train_set.labels))
            self.training_steps = many_training_steps(self.training_step, *self.tensors,
                                                      self.xla, self.steps_per_pass)
            # its one trace (the inputs have one shape), called without tf.function's matching
            # of the arguments to its traces: 60-100 us a call, 10% of rung 1.0's 20 steps
            self._call_steps = self.training_steps.get_concrete_function()
            self._run(batches[1:], 1)
        else:
            self._run(batches, self.i)
        last = batches[-1]
        self.last_batch = (self.train_set.images[last], self.train_set.labels[last])
        self.i += steps

    def _run(self, batches, first_iteration):
        """The steps of `batches`, CHUNK_CAPACITY at a time."""
        import tensorflow as tf
        for start in range(0, len(batches), CHUNK_CAPACITY):
            part = batches[start:start + CHUNK_CAPACITY]
            padded = np.zeros((CHUNK_CAPACITY, BATCH_SIZE), np.int32)
            padded[:len(part)] = part
            self._call_steps(tf.constant(padded), tf.constant(len(part)),
                             tf.constant(first_iteration + start))


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
