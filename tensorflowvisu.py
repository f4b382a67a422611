"""Everything in the rung scripts that is not the lesson: flags, the training loop, text output
and the live six-panel dashboard.

A rung script calls it the same way at every step of the ladder::

    args = tensorflowvisu.parse_args(__doc__)         # flags shared by every rung, seeds the RNGs
    mnist = mnistdata.read_data_sets(args.data_dir, one_hot=True, reshape=False)
    ...                                               # variables, model, loss, optimizer
    datavis = tensorflowvisu.MnistDataVis(args)
    datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                    iterations=10000, train_data_update_freq=20, test_data_update_freq=100)
    print("max test accuracy: " + str(datavis.get_max_test_accuracy()))

`training_step(X, Y_, i)` is the rung's `tf.function` that trains on one mini-batch at
iteration `i` (a float32 scalar). `evaluate(X, Y_)` returns `(Y, accuracy, loss)`: the predicted
probabilities, the accuracy and the loss on the images `X` with one-hot labels `Y_`.

Speed: a Python call into TensorFlow costs more than a whole training step on the dense rungs,
so `animate` runs all the steps between two dashboard updates inside one `tf.function` (a
`tf.range` loop over a stack of mini-batches) and only then comes back to Python.
"""

import argparse
import math
import os
import sys
import time

import numpy as np

BATCH_SIZE = 100


class UsageError(Exception):
    """A problem with the user's input (a flag, a path): reported in one line, exit status 2."""


def _print_user_errors(exc_type, exc, tb, _default_hook=sys.excepthook):
    """sys.excepthook: one line and exit status 2 for the user's mistakes, tracebacks for ours."""
    import mnistdata
    if issubclass(exc_type, (UsageError, mnistdata.MnistDataError)):
        sys.stdout.flush()
        print(f"error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)  # an uncaught exception would exit with status 1
    _default_hook(exc_type, exc, tb)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return value


def _writable_output(text):
    """A path we will be able to write at the end of the run: checked now, before training."""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist: create it or pick another path")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {folder} is not writable: pick another path")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    return text


def _movie_file(text):
    path = _writable_output(text)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        try:
            import PIL  # noqa: F401  (matplotlib's PillowWriter needs it)
        except ImportError:
            raise argparse.ArgumentTypeError("writing a .gif needs Pillow: pip install pillow") from None
    elif extension == ".mp4":
        import shutil
        if shutil.which("ffmpeg") is None:
            raise argparse.ArgumentTypeError(
                "writing an .mp4 needs ffmpeg, which is not installed: install it or save a .gif")
    else:
        raise argparse.ArgumentTypeError(f"{text}: a movie must end in .mp4 (ffmpeg) or .gif (Pillow)")
    return path


def parse_args(description=None, argv=None):
    """Parse the flags every rung shares, seed the random generators, and return the flags.

    Also installs an exception hook that turns the user's mistakes (bad data files, bad
    paths) into a one-line `error: ...` message with exit status 2, without a traceback.
    """
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=_positive_int, metavar="N",
                        help="number of training iterations (default: the codelab's number for this rung)")
    parser.add_argument("--text", action="store_true",
                        help="text-only output, no dashboard window")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="folder holding the four MNIST .gz files (default: $MNIST_DATA_DIR, "
                             "then data/ beside the scripts; missing files are downloaded)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="random seed for the initial weights, the batch order and dropout "
                             "(default: 0)")
    parser.add_argument("--save-image", type=_writable_output, metavar="FILE",
                        help="save the final dashboard as a PNG image (works with --text too)")
    parser.add_argument("--save-movie", type=_movie_file, metavar="FILE",
                        help="record the dashboard as a movie: FILE.mp4 (needs ffmpeg) or FILE.gif")
    args = parser.parse_args(argv)
    sys.excepthook = _print_user_errors
    import keras
    keras.utils.set_random_seed(args.seed)  # seeds Python, numpy and TensorFlow
    return args


def display_problem():
    """Why no dashboard window can be opened here, or None when one can."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    import matplotlib
    from matplotlib.backends import BackendFilter, backend_registry
    backend = matplotlib.get_backend().lower()
    if backend in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE):
        return f"matplotlib's backend {backend!r} cannot open a window"
    return None


def _update_points(iterations, train_freq, test_freq, more_tests_at_start):
    """The iterations at which to report training and test results: {iteration: (train, test)}."""
    points = {}
    for i in range(0, iterations + 1):
        train = i % train_freq == 0 or i == iterations
        test = i % test_freq == 0 or i == iterations
        if more_tests_at_start and i < test_freq:
            test = train  # denser test curve at the start, where it moves fast
        if train or test:
            points[i] = (train, test)
    return points


def many_training_steps(training_step, images, labels):
    """A tf.function running `training_step` once per mini-batch of a stack of mini-batches:
    `training_steps(images[steps, 100, ...], labels[steps, 100, ...], first_iteration)`.

    One Python call for many steps: on the dense rungs the call costs more than the step.
    The first training step must run alone, before: it creates the optimizer's variables,
    which TensorFlow cannot do inside a loop. (XLA, jit_compile=True, measured 2x slower
    on the convolutional rungs on CPU: not used.)
    """
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, BATCH_SIZE, *images.shape[1:]], tf.float32),
                                  tf.TensorSpec([None, BATCH_SIZE, *labels.shape[1:]], labels.dtype),
                                  tf.TensorSpec([], tf.int32)])
    def training_steps(images, labels, first_iteration):
        for k in tf.range(tf.shape(images)[0]):
            training_step(images[k], labels[k], tf.cast(first_iteration + k, tf.float32))

    return training_steps


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class MnistDataVis:
    """Trains a rung and shows it: a live six-panel dashboard, or text lines with --text."""

    def __init__(self, args, title=None):
        self.args = args
        self.title = title or os.path.basename(sys.argv[0])
        self.test_accuracies = []
        self.dashboard = None
        self.interactive = False
        if not args.text:
            problem = display_problem()
            if problem is None:
                self.interactive = True
            else:
                print(f"{problem}: running in text mode (add --text to say so and skip this check)",
                      file=sys.stderr)
        self.text = not self.interactive

    def get_max_test_accuracy(self):
        """The best test accuracy seen during training (0 if no test was run)."""
        return max(self.test_accuracies, default=0.0)

    # ---------------------------------------------------------------------------------------
    def animate(self, training_step, evaluate, mnist, weights, biases, learning_rate, iterations,
                train_data_update_freq=20, test_data_update_freq=100, more_tests_at_start=False):
        """Train for `iterations` mini-batches of 100 images, reporting training results every
        `train_data_update_freq` iterations and test results every `test_data_update_freq`.

        Stops early, cleanly, on Ctrl-C or when the dashboard window is closed. A NaN loss
        stops the run with an explanation (exit status 1).
        """
        import tensorflow as tf

        iterations = self.args.iterations or iterations
        self.iterations = iterations
        self.weights, self.biases, self.learning_rate = weights, biases, learning_rate
        self.evaluate = evaluate
        self.mnist = mnist
        train_images, train_labels = mnist.train.images, mnist.train.labels
        training_steps = many_training_steps(training_step, train_images, train_labels)
        if self.args.save_image or self.args.save_movie or self.interactive:
            self.dashboard = Dashboard(self.title, iterations, train_data_update_freq,
                                       test_data_update_freq, interactive=self.interactive,
                                       movie=self.args.save_movie)
        points = _update_points(iterations, train_data_update_freq, test_data_update_freq,
                                more_tests_at_start)
        self.start_time = time.perf_counter()
        self.last_batch = (train_images[:BATCH_SIZE], train_labels[:BATCH_SIZE])
        i = 0
        seconds_per_step = None
        try:
            for point, (train_update, test_update) in points.items():
                while i < point:
                    steps = point - i
                    if self.interactive and seconds_per_step:
                        # keep the window responsive: come back to the event loop every ~0.1 s
                        steps = min(steps, max(1, int(0.1 / seconds_per_step)))
                    images, labels = mnist.train.next_batch(steps * BATCH_SIZE)
                    images = images.reshape(steps, BATCH_SIZE, *images.shape[1:])
                    labels = labels.reshape(steps, BATCH_SIZE, *labels.shape[1:])
                    started = time.perf_counter()
                    if i == 0:  # the first step alone: see many_training_steps
                        training_step(images[0], labels[0], tf.constant(0.0))
                        if steps > 1:
                            training_steps(images[1:], labels[1:], tf.constant(1))
                    else:
                        training_steps(images, labels, tf.constant(i))
                    if i > 0:  # the first chunk includes tracing: not a speed measurement
                        seconds_per_step = (time.perf_counter() - started) / steps
                    self.last_batch = (images[-1], labels[-1])
                    i += steps
                    if self.dashboard and not self._dashboard_events(i):
                        raise KeyboardInterrupt  # the window was closed
                if train_update:
                    self._train_update(i)
                if test_update:
                    self._test_update(i)
            self.interrupted_at = None
        except KeyboardInterrupt:
            self.interrupted_at = i
            print(f"\nstopped at iteration {i} of {iterations}", file=sys.stderr)
        self._finish(i)

    # ---------------------------------------------------------------------------------------
    def _train_update(self, i):
        images, labels = self.last_batch
        Y, accuracy, loss = (x.numpy() for x in self.evaluate(images, labels))
        accuracy, loss = float(accuracy), float(loss)
        learning_rate = float(self.learning_rate)
        if math.isnan(loss):
            sys.stdout.flush()
            print(f"error: the loss became NaN at iteration {i}. Usually a log(0) in the "
                  "cross-entropy: compute it from the logits with "
                  "tf.nn.softmax_cross_entropy_with_logits, as rung 2.0 does "
                  "(a learning rate that is too high does it too)", file=sys.stderr)
            sys.exit(1)
        if self.text:
            print(f"{i}: accuracy: {accuracy:.4f} loss: {loss:.4f} (lr: {learning_rate:.6g})", flush=True)
        if self.dashboard:
            weights = np.concatenate([w.numpy().ravel() for w in self.weights])
            biases = np.concatenate([b.numpy().ravel() for b in self.biases])
            self.dashboard.update_train(i, accuracy, loss, images, np.argmax(Y, 1),
                                        _label_numbers(labels), weights, biases,
                                        epoch=self.mnist.train.epoch, learning_rate=learning_rate)

    def _test_update(self, i):
        test = self.mnist.test
        Y, accuracy, loss = (x.numpy() for x in self.evaluate(test.images, test.labels))
        accuracy, loss = float(accuracy), float(loss)
        self.test_accuracies.append(accuracy)
        if self.text:
            elapsed = time.perf_counter() - self.start_time
            progress = ""
            if i > 0:
                remaining = elapsed / i * (self.iterations - i)
                progress = f" [{100 * i / self.iterations:.0f}%, {i / elapsed:.0f} it/s, {_duration(elapsed)} elapsed"
                progress += f", {_duration(remaining)} left]" if i < self.iterations else "]"
            print(f"{i}: ********* epoch {self.mnist.train.epoch:.2f} ********* "
                  f"test accuracy: {accuracy:.4f} test loss: {loss:.4f}{progress}", flush=True)
        if self.dashboard:
            self.dashboard.update_test(i, accuracy, loss, test.images, np.argmax(Y, 1),
                                       _label_numbers(test.labels))

    def _dashboard_events(self, i):
        """Let the dashboard draw and handle the keyboard; wait while paused. False once closed."""
        return self.dashboard.tick(i)

    def _finish(self, i):
        elapsed = time.perf_counter() - self.start_time
        if self.test_accuracies:
            print(f"final test accuracy: {self.test_accuracies[-1]:.4f} after {i} iterations "
                  f"in {_duration(elapsed)}", flush=True)
        if self.dashboard:
            self.dashboard.finish(save_image=self.args.save_image)


def _label_numbers(labels):
    """Digit labels as integers, from one-hot or integer labels."""
    return np.argmax(labels, 1) if labels.ndim == 2 else labels.astype(np.int64)


# ===========================================================================================
# The dashboard
# ===========================================================================================
class Dashboard:
    """Placeholder until the six-panel dashboard lands."""

    def __init__(self, title, iterations, train_freq, test_freq, interactive, movie=None):
        raise UsageError("the dashboard is not built yet: use --text")
