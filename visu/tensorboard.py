"""--logdir DIR: the run in TensorBoard's format, to compare runs side by side.

Each run writes into a folder of its own, DIR/<script>-<date>-<time> (then -2, -3... for runs
started in the same second), with two subfolders, `train` and `test`: TensorBoard then draws
the training and test curves of a run in the same charts, and every run beside the others.
At each report: the accuracy and the loss (both subfolders), the learning rate, and histograms
of all the weights, all the biases and what panels 4 and 5 show (the batch-norm rungs'
activations). View them with `tensorboard --logdir DIR` (pip install tensorboard: TensorFlow
writes the files, TensorBoard is its own package).
"""

import itertools
import os
import time

from .startup import UserError


def new_run_folder(logdir, script):
    """A folder made for this run alone: DIR/<script>-<date>-<time>, or with -2, -3... after it
    when another run started in the same second. os.mkdir makes it or fails if it exists,
    in one step: two runs starting together cannot both take the same name."""
    stem = os.path.splitext(os.path.basename(script))[0] or "run"
    base = os.path.join(logdir, f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.makedirs(logdir, exist_ok=True)
        for number in itertools.count(1):
            path = base if number == 1 else f"{base}-{number}"
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise UserError(f"--logdir: cannot make a folder in {logdir} "
                        f"({' '.join(str(exc).split())})") from None


class TensorBoardLog:
    def __init__(self, logdir, script):
        import tensorflow as tf
        self.tf = tf
        self.path = new_run_folder(logdir, script)
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
