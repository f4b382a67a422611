"""--logdir DIR: the run in TensorBoard's format, to compare runs side by side.

Each run writes into a folder of its own, DIR/<script>-<date>-<time>, with two subfolders,
`train` and `test`: TensorBoard then draws the training and test curves of a run in the same
charts, and every run beside the others. At each report: the accuracy and the loss (both
subfolders), the learning rate, and histograms of all the weights, all the biases and what
panels 4 and 5 show (the batch-norm rungs' activations). View them with
`tensorboard --logdir DIR` (pip install tensorboard: TensorFlow writes the files, TensorBoard
is its own package).
"""

import os
import time


class TensorBoardLog:
    def __init__(self, logdir, script):
        import tensorflow as tf
        self.tf = tf
        stem = os.path.splitext(os.path.basename(script))[0] or "run"
        self.path = os.path.join(logdir, f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
        self.train_writer = tf.summary.create_file_writer(os.path.join(self.path, "train"))
        self.test_writer = tf.summary.create_file_writer(os.path.join(self.path, "test"))

    def train(self, i, accuracy, loss, learning_rate, histograms):
        """A training report: scalars, and {tag: values} as histograms."""
        tf = self.tf
        with self.train_writer.as_default(step=i):
            tf.summary.scalar("accuracy", accuracy)
            tf.summary.scalar("cross-entropy loss", loss)
            if learning_rate is not None:
                tf.summary.scalar("learning rate", learning_rate)
            for tag, values in histograms.items():
                tf.summary.histogram(tag, values)

    def test(self, i, accuracy, loss):
        tf = self.tf
        with self.test_writer.as_default(step=i):
            tf.summary.scalar("accuracy", accuracy)
            tf.summary.scalar("cross-entropy loss", loss)

    def close(self):
        for writer in (self.train_writer, self.test_writer):
            writer.flush()
            writer.close()
