"""Everything in the rung scripts that is not the lesson: flags, the training loop, text output
and the live six-panel dashboard.

A rung script calls it the same way at every step of the ladder::

    import tensorflowvisu                             # before TensorFlow: see below
    ...
    args = tensorflowvisu.parse_args(__doc__)         # flags shared by every rung, seeds the RNGs
    mnist = mnistdata.read_data_sets(args.data_dir, one_hot=True, reshape=False)
    ...                                               # variables, model, loss, optimizer
    datavis = tensorflowvisu.MnistDataVis(args)
    datavis.animate(training_step, evaluate, mnist, allweights, allbiases, optimizer.learning_rate,
                    iterations=10000, train_data_update_freq=20, test_data_update_freq=100)
    print(f"max test accuracy: {datavis.get_max_test_accuracy():.4f}")

`training_step(X, Y_, i)` is the rung's `tf.function` that trains on one mini-batch at
iteration `i` (a float32 scalar). `evaluate(X, Y_)` returns `(Y, accuracy, loss)`: the predicted
probabilities, the accuracy and the loss on the images `X` with one-hot labels `Y_`.

Speed: a Python call into TensorFlow costs more than a whole training step on the dense rungs,
so `animate` runs all the steps between two dashboard updates inside one `tf.function` (a
`tf.range` loop over a stack of mini-batches) and only then comes back to Python. Importing
this module switches on TensorFlow's oneDNN CPU kernels (TF_ENABLE_ONEDNN_OPTS, read once when
TensorFlow loads: hence the import before TensorFlow's) and loads TensorFlow without its
start-up log on the terminal.
"""

import argparse
import math
import os
import sys
import time

import numpy as np

# TensorFlow's oneDNN kernels make the convolutional rungs 2-2.5x faster on a CPU, but TensorFlow
# switches them on by itself only on CPUs with AVX-512 neural-network instructions. The switch is
# read once, when TensorFlow loads: this is why the rungs import this module before TensorFlow.
# (Set TF_ENABLE_ONEDNN_OPTS=0 to compare; results differ only in rounding.)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _import_tensorflow_quietly():
    """Import TensorFlow and start its runtime with its C++ start-up log kept off the terminal.

    TensorFlow writes about ten lines to stderr as it loads (oneDNN is on, no CUDA driver, CPU
    instructions, cuInit failed) that look like errors to a learner, and TF_CPP_MIN_LOG_LEVEL
    does not silence them. They go to a temporary file, shown only if the import fails.
    TF_CPP_MIN_LOG_LEVEL=0 shows them. No TensorFlow at all: a one-line error, exit status 2.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile
    saved_stderr = None
    with tempfile.TemporaryFile() as log:
        try:
            if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
                sys.stderr.flush()
                saved_stderr = os.dup(2)
                os.dup2(log.fileno(), 2)
        except (AttributeError, OSError, ValueError):  # no stderr file descriptor: nothing to hide
            pass
        try:
            import tensorflow as tf
            tf.constant(0.0)  # starts the runtime, which logs its device search too
        except BaseException as exc:
            if saved_stderr is not None:
                sys.stderr.flush()
                os.dup2(saved_stderr, 2)
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace"))
            if isinstance(exc, ModuleNotFoundError) and exc.name == "tensorflow":
                print(f"error: TensorFlow is not installed for {sys.executable}: run "
                      "pip install -r requirements.txt (see INSTALL.txt)", file=sys.stderr)
                sys.exit(2)
            raise
        finally:
            if saved_stderr is not None:
                sys.stderr.flush()
                os.dup2(saved_stderr, 2)
                os.close(saved_stderr)


_import_tensorflow_quietly()

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
    if not _backend_is_interactive():
        import matplotlib
        return f"matplotlib's backend {matplotlib.get_backend().lower()!r} cannot open a window"
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
        live = self.interactive or _force_live_dashboard()  # a window, or its offscreen stand-in
        if self.args.save_image or self.args.save_movie or live:
            self.dashboard = Dashboard(self.title, iterations, train_data_update_freq,
                                       test_data_update_freq, interactive=self.interactive,
                                       movie=self.args.save_movie, live=live)
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
                    if live and seconds_per_step:
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
    """The live six-panel dashboard: what the network sees, gets wrong and learns, as it trains.

    Panels, two rows of three: 1 accuracy, 2 cross-entropy loss, 3 the training batch,
    4 weights, 5 biases, 6 test digits; KEYS_HELP lists the keyboard. It computes everything
    with numpy from the arrays the runner hands over (no TensorFlow here).

    interactive: a real window. It is redrawn "live", in tick(): by blitting (the axes, ticks
    and labels are drawn once, then only the curves, bands, images and status line), each
    frame DRAW_BUDGET times a frame's (running average) duration after the last one, so that
    drawing takes ~5% of the time at most. Otherwise an offscreen canvas, drawn only for the
    movie's frames and the final image, unless live=True asks for the window's drawing policy
    (to measure what the window costs training: TFVISU_FORCE_DASHBOARD=1).

    movie: a .gif or .mp4 file to record, one frame per training update. Images and movie
    frames have the same size whatever the window's: 1600x900 and 1280x720 pixels.
    """

    def __init__(self, title, iterations, train_freq, test_freq, interactive, movie=None, live=None):
        import matplotlib.pyplot as plt

        self.title = title
        self.iterations = iterations
        self.train_freq, self.test_freq = train_freq, test_freq
        self.interactive = interactive
        self.live = interactive if live is None else live
        self.paused = False
        self.closed = False
        self.layout = "0"
        self.iteration = 0  # the iteration of the data on show
        self.epoch = 0.0
        self.learning_rate = None
        self.draws = 0  # frames drawn by the live policy (full draws and blits)
        self.full_draws = 0
        self.draw_seconds = 0.0  # spent drawing them
        self.update_seconds = 0.0  # spent in update_train and update_test
        self.last_draw_seconds = None
        self._frame_seconds = 0.03  # a running average of the frames' durations
        self._next_draw = 0.0
        self._dirty = True  # something changed since the last frame
        self._changed = set()  # which artists need fresh data before the next frame
        self._frame_pending = False
        self._finished = False
        # the curves and bands, as lists (a few hundred points: converting them costs nothing)
        self._train_x, self._train_accuracy, self._train_loss = [], [], []
        self._test_x, self._test_accuracy, self._test_loss = [], [], []
        self._weight_bands, self._bias_bands = [], []
        self._batch = None
        self._test_digits = None
        self._background, self._background_key = None, None
        self._regions = {}  # artist -> (key, region): the rendering of a slow artist, to reuse
        self._fitted = set()  # the bands' axes whose limits were fitted to the data already
        self._test_version = 0

        plt.style.use(STYLE_FILE)  # the look, and the keys the dashboard takes over (keymap.*)
        self._figsize = tuple(_rc("figure.figsize"))
        self.fig, self.manager = _new_figure(title, interactive)
        self.canvas = self.fig.canvas
        self._build()
        self.canvas.mpl_connect("key_press_event", self._on_key)
        self.canvas.mpl_connect("close_event", self._on_close)
        self.canvas.mpl_connect("draw_event", self._on_draw_event)
        self._movie_path, self._movie_temp, self._writer = movie, None, None
        if movie:
            self._start_movie(movie)
        if interactive:
            self.manager.set_window_title(title)
            self.manager.show()
        if self.live:  # the empty dashboard, before training starts (and fonts loaded)
            self.canvas.draw()
            self._flush_events()

    # -- the figure --------------------------------------------------------------------------
    def _build(self):
        fig = self.fig
        colors = [c["color"] for c in _rc("axes.prop_cycle")]
        self.train_color, self.test_color = colors[0], colors[1]
        self.weights_color, self.biases_color = colors[2], colors[3]
        self.error_rgb = _rgb255(colors[4])
        self._image_colors = _ink_colors(self.error_rgb)
        self.axes = [fig.add_subplot(2, 3, k + 1) for k in range(6)]
        ax_acc, ax_loss, ax_train, ax_weights, ax_biases, ax_test = self.axes
        for ax, title in zip(self.axes, PANEL_TITLES):
            ax.set_title(title)
        x_max = max(self.iterations, 1)

        # 1 and 2: accuracy and loss curves
        self.train_accuracy_line, = ax_acc.plot([], [], color=self.train_color, lw=1,
                                                label="training (current batch of 100)")
        self.test_accuracy_line, = ax_acc.plot([], [], color=self.test_color, lw=2,
                                               label="test (10,000 digits)")
        ax_acc.set(xlim=(0, x_max), ylim=(0, 1), xlabel="iteration", ylabel="accuracy (1 = 100% correct)")
        self.train_loss_line, = ax_loss.plot([], [], color=self.train_color, lw=1, label="training")
        self.test_loss_line, = ax_loss.plot([], [], color=self.test_color, lw=2, label="test")
        ax_loss.set(xlim=(0, x_max), ylim=(0, LOSS_TOP), xlabel="iteration", ylabel="cross-entropy")
        ax_acc.legend(loc="lower right")
        ax_loss.legend(loc="upper right")

        # 4 and 5: percentile bands, one polygon per band
        from matplotlib.collections import PolyCollection
        self.bands = {}
        for ax, color, name in ((ax_weights, self.weights_color, "weight"), (ax_biases, self.biases_color, "bias")):
            bands = PolyCollection([np.zeros((0, 2))] * BANDS, facecolors=_band_colors(color), edgecolors="none")
            ax.add_collection(bands)
            ax.set(xlim=(0, x_max), ylim=(-1, 1), xlabel="iteration",
                   ylabel=f"{name} values ({BANDS} bands, 1/{BANDS} of them each)")
            self.bands[ax] = bands

        # 3 and 6: digit grids, as RGB images computed with numpy
        self.train_image = ax_train.imshow(_blank_grid(TRAIN_ROWS, TRAIN_COLUMNS, LABEL_WIDTH, GUTTER))
        self.test_image = ax_test.imshow(_blank_grid(TEST_ROWS, TEST_COLUMNS, 0, 0),
                                         extent=(0, TEST_COLUMNS * 28, TEST_ROWS * 28, 0))
        counts = []
        for ax, text in ((ax_train, "errors on red: correct label on the left, computed one on the right"),
                         (ax_test, f"{TEST_ROWS * TEST_COLUMNS:,} test digits, errors first, on red")):
            ax.grid(False)
            ax.set_xticks([])
            ax.set_xlabel(text)
            # the number of errors, top right
            counts.append(ax.text(1, 1.01, "", transform=ax.transAxes, ha="right", va="bottom",
                                  color=self.test_color, fontweight="bold"))
        self.train_count, self.test_count = counts
        ax_train.set_yticks([])
        # the percentage scale: one line of 40 digits is 4% of the 1,000
        lines = [0, 2, 5, 10, 15, 20, 25]
        ax_test.set_yticks([k * 28 for k in lines], [f"{k * 100 // TEST_ROWS}%" for k in lines])
        ax_test.set_yticks(np.arange(TEST_ROWS + 1) * 28, minor=True)
        ax_test.set_ylabel(f"errors (one line = {100 // TEST_ROWS}%)")

        # around the panels: the script's name, the status line, the pause flag, the keys
        fig.text(0.006, 0.972, self.title, ha="left", va="center", fontsize="x-large", fontweight="bold")
        self.status_text = fig.text(0.994, 0.972, "", ha="right", va="center", fontsize="large")
        # the pause flag: just before the status line, whatever its length
        from matplotlib.text import Annotation
        self.pause_text = fig.add_artist(Annotation(
            "PAUSED", xy=(0, 0.5), xycoords=self.status_text, xytext=(-16, 0),
            textcoords="offset points", ha="right", va="center", fontsize="x-large", fontweight="bold",
            color=self.test_color, visible=False))
        fig.text(0.5, 0.008, KEYS_HELP, ha="center", va="bottom", color="0.35")

        # What changes from frame to frame, drawn over a saved background when live. The y axes
        # of the panels whose limits follow the data come first (the curves and bands go over
        # their grid lines): so a change of limits costs no full redraw. The y axes and the
        # test digits are drawn again only when they changed; otherwise their last rendering
        # is pasted back (see _draw_animated).
        following = (ax_loss, ax_weights, ax_biases)
        self._animated = [*(ax.yaxis for ax in following), self.train_accuracy_line, self.test_accuracy_line,
                          self.train_loss_line, self.test_loss_line, *self.bands.values(), self.train_image,
                          self.test_image, *counts, self.status_text, self.pause_text]
        self._region_keys = {ax.yaxis: (lambda ax=ax: (ax.get_ylim(), ax.yaxis.label.get_text()))
                             for ax in following}
        self._region_keys[self.test_image] = lambda: self._test_version
        for artist in self._animated:
            artist.set_animated(self.live)
        self._follow_data = {ax: (ax.get_xlim(), ax.get_ylim()) for ax in following}
        self._home_limits = {ax: (ax.get_xlim(), ax.get_ylim()) for ax in self.axes}
        self._apply_layout(self.layout)
        self._update_status()
        self._follow_after_toolbar_home()

    def _follow_after_toolbar_home(self):
        """Make the Home button of matplotlib's toolbar (a window has one) do what H does.

        Home puts every view back as it was before the first zoom; without this, the panels
        that follow the data would take those old limits for a zoom by hand, and stop
        following. The toolbar calls its `_update_view` after Home, Back and Forward: when the
        view it shows is then the first of its history, the panels go on following the data.
        (matplotlib's private names: with a toolbar that lacks them, Home works as before.)"""
        toolbar = getattr(self.canvas, "toolbar", None)
        update_view, history = getattr(toolbar, "_update_view", None), getattr(toolbar, "_nav_stack", None)
        if update_view is None or history is None:
            return

        def update_view_then_follow():
            update_view()
            if len(history) and history() is history[0]:
                self.reset_zoom()
        toolbar._update_view = update_view_then_follow

    def _apply_layout(self, key):
        from matplotlib.gridspec import GridSpec
        panels = LAYOUTS[key]
        if len(panels) == 6:
            grid = GridSpec(2, 3, figure=self.fig, **GRID)
        else:
            grid = GridSpec(1, len(panels), figure=self.fig,
                            **{**GRID, "width_ratios": None, "wspace": 0.12, "right": 0.98})
        for k, ax in enumerate(self.axes):
            ax.set_visible(k in panels)
        for slot, k in enumerate(panels):
            self.axes[k].set_subplotspec(grid[slot])
        for ax in (self.axes[2], self.axes[5]):  # the digits: at the top in a row, else centred
            ax.set_anchor("N" if len(panels) == 6 else "C")
        self.layout = key
        toolbar = getattr(self.canvas, "toolbar", None)
        if hasattr(toolbar, "update"):
            toolbar.update()  # forget the zoom history: its views hold the panels' old places

    def visible_panels(self):
        """The numbers (1-6) of the panels on show."""
        return [k + 1 for k, ax in enumerate(self.axes) if ax.get_visible()]

    # -- data from the runner ----------------------------------------------------------------
    def update_train(self, i, accuracy, loss, images, predictions, labels, weights, biases, epoch, learning_rate):
        started = time.perf_counter()
        self._train_x.append(i)
        self._train_accuracy.append(accuracy)
        self._train_loss.append(loss)
        self._weight_bands.append(_percentiles(weights))
        self._bias_bands.append(_percentiles(biases))
        n = TRAIN_ROWS * TRAIN_COLUMNS
        self._batch = (images[:n], predictions[:n], labels[:n])  # made into an image when drawn
        self.iteration, self.epoch, self.learning_rate = i, epoch, learning_rate
        self._changed.update(("train", "bands", "batch", "status"))
        self._dirty = True
        self._frame_pending = True
        self.update_seconds += time.perf_counter() - started

    def update_test(self, i, accuracy, loss, images, predictions, labels):
        started = time.perf_counter()
        self._test_x.append(i)
        self._test_accuracy.append(accuracy)
        self._test_loss.append(loss)
        n = TEST_ROWS * TEST_COLUMNS
        self._test_digits = (images[:n], predictions[:n], labels[:n])  # made into an image when drawn
        self.iteration = max(self.iteration, i)
        self._changed.update(("test", "status"))
        self._dirty = True
        self.update_seconds += time.perf_counter() - started

    # -- the loop ----------------------------------------------------------------------------
    def tick(self, i):
        """Keyboard, frames and movie frames; blocks while paused. False once the window is closed."""
        if self._check_closed():
            return False
        self._flush_events()
        if self.paused:
            if self.live:
                self._draw_frame()  # show the pause flag now
            while self.paused and not self._check_closed():
                self.canvas.start_event_loop(0.05)
            self._changed.add("status")
        if self._check_closed():
            return False
        if self._writer and self._frame_pending:
            self._grab_frame()
        if self.live and self._dirty and time.perf_counter() >= self._next_draw:
            self._draw_frame()
        return True

    def finish(self, save_image=None):
        """The final picture: the image file, the movie; in a window, wait until it is closed."""
        import matplotlib.pyplot as plt
        self._finished = True
        self.paused = False
        if self.live and not self.interactive:  # TFVISU_FORCE_DASHBOARD: say what it cost
            print(f"dashboard: {self.draws} frames ({self.full_draws} full draws) in {self.draw_seconds:.2f}s, "
                  f"updates {self.update_seconds:.2f}s", file=sys.stderr, flush=True)
        self._changed.add("status")
        if self._writer:
            if self._frame_pending:
                self._grab_frame()
            self._finish_movie()
        if save_image:
            self.save_image(save_image)
        if self.interactive and not self._check_closed():
            self._draw_frame()
            plt.show()  # returns when the window is closed
        elif not self.interactive and self.manager is not None:
            plt.close(self.fig)

    def save_image(self, path, dpi=None):
        """The dashboard as a PNG image (written to a temporary file, then renamed)."""
        self._refresh()
        with self._saving():
            _save_atomically(path, lambda temp: self.fig.savefig(temp, format="png", dpi=dpi or IMAGE_DPI))
        return path

    def save_snapshot(self):
        """Ctrl-S: the dashboard as it is now, in <script>-<iteration>.png in the current folder."""
        name = os.path.splitext(os.path.basename(self.title))[0] or "dashboard"
        path = self.save_image(os.path.abspath(f"{name}-{self.iteration}.png"))
        print(f"saved the dashboard: {path}", flush=True)
        return path

    # -- drawing -----------------------------------------------------------------------------
    def _refresh(self):
        """Push the data received since the last frame into the artists."""
        changed, self._changed = self._changed, set()
        if "train" in changed:
            self.train_accuracy_line.set_data(self._train_x, self._train_accuracy)
            self.train_loss_line.set_data(self._train_x, self._train_loss)
        if "test" in changed:
            self.test_accuracy_line.set_data(self._test_x, self._test_accuracy)
            self.test_loss_line.set_data(self._test_x, self._test_loss)
            images, predictions, labels = self._test_digits
            self.test_image.set_data(_digit_grid(images, predictions, labels, TEST_ROWS, TEST_COLUMNS,
                                                 self._image_colors, errors_first=True))
            self.test_count.set_text(_errors(predictions, labels))
            self._test_version += 1  # the key of its cached rendering: this image, not the last update
        if changed & {"train", "test", "limits"}:
            self._follow(self.axes[1], _loss_limits(self._train_loss, self._test_loss, self.axes[1].get_ylim()))
        if changed & {"bands", "limits"} and self._train_x:
            x = np.asarray(self._train_x, np.float64)
            for ax, history in ((self.axes[3], self._weight_bands), (self.axes[4], self._bias_bands)):
                edges = np.asarray(history)
                self.bands[ax].set_verts(_band_polygons(x, edges))
                self._follow(ax, _band_limits(edges, ax.get_ylim(), initial=ax not in self._fitted))
                self._fitted.add(ax)
        if "batch" in changed and self._batch is not None:
            images, predictions, labels = self._batch
            self.train_image.set_data(_digit_grid(images, predictions, labels, TRAIN_ROWS, TRAIN_COLUMNS,
                                                  self._image_colors, glyphs=_label_glyphs(), gutter=GUTTER))
            self.train_count.set_text(_errors(predictions, labels))
        if "status" in changed:
            self._update_status()

    def _update_status(self):
        parts = [f"iteration {self.iteration:,} / {self.iterations:,}", f"epoch {self.epoch:.2f}"]
        if self.learning_rate is not None:
            parts.append(f"learning rate {self.learning_rate:.3g}")
        if self._test_accuracy:
            parts.append(f"test accuracy {self._test_accuracy[-1]:.4f} (best {max(self._test_accuracy):.4f})")
        if self._finished:
            parts.append("done" if self.iteration >= self.iterations else "stopped")
        self.status_text.set_text("    ".join(parts))
        self.pause_text.set_visible(self.paused)

    def _follow(self, ax, ylim):
        """Set the y limits the data asks for, unless the user zoomed or panned this panel."""
        if (ax.get_xlim(), ax.get_ylim()) != self._follow_data[ax]:
            return  # zoomed by hand: H gives it back
        if tuple(ylim) != ax.get_ylim():
            ax.set_ylim(ylim)
        self._follow_data[ax] = (ax.get_xlim(), ax.get_ylim())

    def _draw_frame(self):
        """One live frame: the changing artists over the saved background (redrawn only when
        the layout, the size or an axis's limits changed)."""
        if self._check_closed():
            return
        started = time.perf_counter()
        self._refresh()
        if not self.live:
            self.canvas.draw()
        elif self._background is None or self._background_key != self._layout_key():
            self.canvas.draw()  # _on_draw_event saves the background and draws the rest over it
        else:
            self.canvas.restore_region(self._background)
            self._draw_animated()
            self.canvas.blit(self.fig.bbox)
        self._flush_events()
        ended = time.perf_counter()
        self.draws += 1
        self.last_draw_seconds = ended - started
        self.draw_seconds += self.last_draw_seconds
        # the typical frame's duration: one slow frame (the first, fonts to load; a full
        # redraw) does not freeze the window for long, and the average stays in the budget
        self._frame_seconds = (self._frame_seconds + self.last_draw_seconds) / 2
        self._next_draw = ended + DRAW_BUDGET * self._frame_seconds
        self._dirty = False

    def _on_draw_event(self, event):
        """After every full draw (ours, a resize, a zoom): save the background, draw the rest."""
        if not self.live or self.canvas.is_saving():
            return
        self.full_draws += 1
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self._background_key = self._layout_key()
        self._draw_animated()

    def _layout_key(self):
        """What the background depends on (the y limits of the panels that follow the data do
        not count: their y axes are animated)."""
        return (tuple(self.fig.bbox.bounds), self.layout,
                tuple((ax.get_xlim(), ax.get_ylim() if ax.yaxis not in self._region_keys else None)
                      for ax in self.axes if ax.get_visible()))

    def _draw_animated(self):
        renderer = self.canvas.get_renderer()
        for artist in self._animated:
            if not artist.get_visible() or (artist.axes is not None and not artist.axes.get_visible()):
                continue
            key_of = self._region_keys.get(artist)
            if key_of is None:
                artist.draw(renderer)
                continue
            key = (self._background_key, key_of())
            cached = self._regions.get(artist)
            if cached is not None and cached[0] == key:
                self.canvas.restore_region(cached[1])
            else:
                artist.draw(renderer)
                bbox = artist.axes.bbox
                if artist is not self.test_image:  # a y axis: its labels, ticks and grid lines
                    from matplotlib.transforms import Bbox
                    bbox = Bbox.union([bbox, artist.get_tightbbox(renderer)])
                self._regions[artist] = (key, self.canvas.copy_from_bbox(bbox.padded(1)))

    def _saving(self):
        """A context for savefig: the figure at its standard size (16x9 inches: images and movie
        frames have the same size in pixels whatever the window's), the animated artists drawn."""
        import contextlib

        @contextlib.contextmanager
        def context():
            size = self.fig.get_size_inches().copy()
            resized = not np.allclose(size, self._figsize)
            if resized:  # the window does not hear of it: no events are handled meanwhile
                self.fig.set_size_inches(self._figsize, forward=False)
            if self.live:
                for artist in self._animated:
                    artist.set_animated(False)
            try:
                yield
            finally:
                if self.live:
                    for artist in self._animated:
                        artist.set_animated(True)
                if resized:
                    self.fig.set_size_inches(size, forward=False)
        return context()

    def _flush_events(self):
        if self.interactive and not self._check_closed():
            self.canvas.flush_events()

    def _request_draw(self):
        """A key changed the picture: redraw at once in a window, at the next tick otherwise."""
        self._dirty = True
        self._next_draw = 0.0
        if self.interactive and not self._check_closed():
            self.canvas.draw_idle()

    # -- keyboard and window -----------------------------------------------------------------
    def _on_key(self, event):
        key = event.key
        if key in LAYOUTS:
            self._apply_layout(key)
            self._request_draw()
        elif key == " " and not self._finished:
            self.paused = not self.paused
            self.pause_text.set_visible(self.paused)
            self._changed.add("status")
            self._request_draw()
        elif key == "ctrl+s":
            self.save_snapshot()
        elif key in _rc("keymap.home"):
            self.reset_zoom()

    def reset_zoom(self):
        """H: every panel back to its own limits. matplotlib's toolbar (a window has one) has
        already put the views back as they were before the first zoom: the panels whose limits
        follow the data go on from there. Without a toolbar, they start afresh."""
        toolbar = getattr(self.canvas, "toolbar", None)
        for ax, (xlim, ylim) in self._home_limits.items():
            if toolbar is None or ax not in self._follow_data:
                ax.set(xlim=xlim, ylim=ylim)
        for ax in self._follow_data:
            self._follow_data[ax] = (ax.get_xlim(), ax.get_ylim())
        if toolbar is None:
            self._fitted.clear()
        elif hasattr(toolbar, "update"):
            toolbar.update()  # forget the zoom history
        self._changed.add("limits")
        self._refresh()
        self._request_draw()

    def _on_close(self, event):
        self.closed = True

    def _check_closed(self):
        if not self.closed and self.manager is not None:
            import matplotlib.pyplot as plt
            if not plt.fignum_exists(self.manager.num):
                self.closed = True  # plt.close(fig), Q, or the window's close button
        return self.closed

    # -- movie -------------------------------------------------------------------------------
    def _start_movie(self, path):
        extension = os.path.splitext(path)[1].lower()
        if extension == ".gif":
            self._writer = _compact_gif_writer(MOVIE_FPS)
        else:
            from matplotlib.animation import FFMpegWriter
            self._writer = FFMpegWriter(fps=MOVIE_FPS, codec="h264")
        self._movie_temp = _temp_beside(path, extension)
        with self._saving():  # the frame size: from the standard figure size
            self._writer.setup(self.fig, self._movie_temp, dpi=MOVIE_DPI)

    def _grab_frame(self):
        self._refresh()
        with self._saving():
            self._writer.grab_frame()
        self._frame_pending = False

    def _finish_movie(self):
        writer, self._writer = self._writer, None
        try:
            writer.finish()
            _make_readable(self._movie_temp)
            os.replace(self._movie_temp, self._movie_path)
        finally:
            if os.path.exists(self._movie_temp):
                os.unlink(self._movie_temp)


# --- settings of the dashboard (its look is in tensorflowvisu.mplstyle) ---------------------
STYLE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorflowvisu.mplstyle")
PANEL_TITLES = ("Accuracy", "Cross-entropy loss", "Training digits", "Weights", "Biases", "Test digits")
# key -> the panels on show (0-based), in their order on screen
LAYOUTS = {"1": (0,), "2": (1,), "3": (2,), "4": (3,), "5": (4,), "6": (5,),
           "7": (0, 1), "8": (3, 4), "9": (2, 5), "0": tuple(range(6)), "escape": tuple(range(6))}
KEYS_HELP = ("keys:  1-6 one panel    7 accuracy + loss    8 weights + biases    9 training + test digits    "
             "0 or Esc all six    Space pause/resume    O box zoom (mouse)    H reset zoom    "
             "Ctrl-S save image    Q quit")
GRID = dict(left=0.045, right=0.99, bottom=0.085, top=0.915, wspace=0.2, hspace=0.34, width_ratios=(1, 1, 1.15))
DRAW_BUDGET = 20  # the next frame waits 20x a frame's duration: ~5% of the time drawing, at most
IMAGE_DPI = 100  # --save-image and Ctrl-S: 16x9 inches -> 1600x900 pixels
MOVIE_DPI = 80  # movie frames: 1280x720 pixels
MOVIE_FPS = 10
LOSS_TOP = 100  # the loss axis shows 0-100 (the codelab's scale), more if the loss stays higher
BANDS = 7  # percentile bands of the weights and biases, 1/7 of the values each
PERCENTILE_SAMPLE = 1 << 15  # the inner band edges of bigger networks come from this many values
TRAIN_ROWS, TRAIN_COLUMNS = 10, 10
TEST_ROWS, TEST_COLUMNS = 25, 40
LABEL_WIDTH = 9  # pixels of the label columns on each side of a training digit
GUTTER = 2  # white pixels between training digits, so that neighbouring errors stay apart


def _rc(name):
    """matplotlib.rcParams[name] (matplotlib is imported only once a dashboard is made)."""
    import matplotlib
    return matplotlib.rcParams[name]


def _force_live_dashboard():
    """TFVISU_FORCE_DASHBOARD=1: build the dashboard offscreen even in text mode, with the
    window's drawing policy, to measure what the live dashboard costs training."""
    return os.environ.get("TFVISU_FORCE_DASHBOARD", "") not in ("", "0")


def _new_figure(title, interactive):
    """A figure of the style's size: in pyplot (a window, or Agg when that is pyplot's backend,
    so that plt.close works on it), else on an offscreen Agg canvas of its own."""
    import matplotlib.pyplot as plt
    if interactive:
        fig = plt.figure(num=title, dpi=_screen_dpi(_rc("figure.figsize"), _rc("figure.dpi")))
        return fig, fig.canvas.manager
    if not _backend_is_interactive():
        fig = plt.figure(num=title)
        return fig, fig.canvas.manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig, None


def _backend_is_interactive():
    """Whether matplotlib's backend can open a window (TkAgg, QtAgg...; not Agg, PDF...)."""
    import matplotlib
    from matplotlib.backends import BackendFilter, backend_registry
    return matplotlib.get_backend().lower() not in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)


def _screen_dpi(figsize, dpi):
    """The dpi at which a figure of figsize inches fits the screen with its window's title bar,
    toolbar and a task bar: lowering the dpi scales the whole layout, text included. None when
    the screen's size is unknown (only Tk is asked: other toolkits keep the style's size)."""
    import matplotlib
    if not matplotlib.get_backend().lower().startswith("tk"):
        return None
    try:
        import tkinter
        root = tkinter.Tk()
        root.withdraw()
        width, height = root.winfo_screenwidth(), root.winfo_screenheight()
        # matplotlib scales a Tk window by the screen's pixel ratio: count in unscaled pixels
        ratio = max(round(float(root.tk.call("tk", "scaling")) / (96 / 72), 2), 0.5)
        root.destroy()
    except Exception:
        return None
    width, height = width / ratio, height / ratio
    return max(min(dpi, (width - 16) / figsize[0], (height - 130) / figsize[1]), 40)


def _errors(predictions, labels):
    errors = int(np.count_nonzero(np.asarray(predictions) != np.asarray(labels)))
    return f"{errors} error{'s' if errors != 1 else ''} ({100 * errors / max(len(labels), 1):.1f}%)"


def _rgb255(color):
    from matplotlib.colors import to_rgb
    return np.array([round(255 * c) for c in to_rgb(color)], np.float64)


def _ink_colors(error_rgb):
    """Colour lookup table: entry 256 * wrong + ink (0-255) is the RGBA colour, as one uint32,
    of black ink on white (wrong = 0) or on the error colour (wrong = 1)."""
    ink = np.arange(256)[:, None] / 255
    backgrounds = np.stack([np.full(3, 255.0), np.asarray(error_rgb, np.float64)])
    rgba = np.full((2, 256, 4), 255, np.uint8)
    rgba[:, :, :3] = np.round(backgrounds[:, None, :] * (1 - ink[None]))
    return rgba.reshape(512, 4).view(np.uint32).ravel()


def _band_colors(color):
    """BANDS shades of color: the middle band darkest, paler and paler outwards."""
    from matplotlib.colors import to_rgb
    base = np.array(to_rgb(color))
    middle = BANDS // 2
    strengths = [1.0 - 0.78 * abs(k - middle) / middle for k in range(BANDS)]
    return [tuple(1 - s * (1 - base)) for s in strengths]


_SAMPLES = {}


def _percentiles(values):
    """The BANDS + 1 edges of the bands: min, the 1/7, 2/7 ... percentiles, max. Big arrays
    (the 240,000 weights of rung 2.2) give their inner edges from a fixed sample of their
    values: 8x faster, and the bands do not move by a pixel."""
    values = np.asarray(values).ravel()
    if values.size == 0:
        return np.zeros(BANDS + 1)
    edges = np.empty(BANDS + 1)
    edges[0], edges[-1] = values.min(), values.max()
    if values.size > PERCENTILE_SAMPLE:
        sample = _SAMPLES.get(values.size)
        if sample is None:  # the same values every time, so that the bands stay smooth
            sample = np.sort(np.random.default_rng(0).choice(values.size, PERCENTILE_SAMPLE, replace=False))
            _SAMPLES[values.size] = sample
        values = values[sample]
    edges[1:-1] = np.percentile(values, np.linspace(0, 100, BANDS + 1)[1:-1])
    return edges


def _band_polygons(x, edges):
    """One polygon per band: along its lower edge, then back along its upper edge."""
    xs = np.concatenate((x, x[::-1]))
    return [np.column_stack((xs, np.concatenate((edges[:, k], edges[::-1, k + 1])))) for k in range(BANDS)]


def _nice_limits(low, high, room=0.15):
    """Round limits around [low, high] out to tick values, with some room to grow."""
    from matplotlib.ticker import MaxNLocator
    span = high - low
    ticks = MaxNLocator(nbins=10).tick_values(low - room * span, high + room * span)
    return float(ticks[0]), float(ticks[-1])


def _band_limits(edges, current, initial=False):
    """Limits that show all the bands. They change only when the bands leave them (with room
    to grow) or shrink to less than half of them: each change redraws the whole window."""
    low, high = float(np.min(edges[:, 0])), float(np.max(edges[:, -1]))
    if not (np.isfinite(low) and np.isfinite(high)):
        return current
    if high - low < 1e-3:  # a single value (biases at the start): a small window around it
        middle = (high + low) / 2
        low, high = middle - 0.05, middle + 0.05
    bottom, top = current
    if initial or not (bottom <= low and high <= top and (high - low) * 2 > top - bottom):
        return _nice_limits(low, high, room=0.15 if initial else 0.3)
    return current


def _loss_limits(train_losses, test_losses, current):
    """0 to LOSS_TOP like the codelab (the loss starts at ~230 and falls below 100 within a few
    updates); higher only while the loss stays above it."""
    if len(train_losses) < 5:
        return 0, LOSS_TOP
    recent = [x for series in (train_losses, test_losses) for x in series[-5:] if np.isfinite(x)]
    if min(recent, default=0) <= LOSS_TOP:
        return 0, LOSS_TOP
    high = max(recent)
    if high <= current[1] < 3 * high:
        return current
    return 0, _nice_limits(0, high, room=0.3)[1]


_GLYPHS = None


def _label_glyphs():
    """The digits 0-9 as ink [10, 28, LABEL_WIDTH] uint8, rendered once with matplotlib's own
    font: stamping them into the numpy image is much cheaper than 200 text artists a frame."""
    global _GLYPHS
    if _GLYPHS is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        scale = 4  # rendered 4x larger, then averaged down: smooth edges
        width, height = 10 * LABEL_WIDTH * scale, 28 * scale
        fig = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        for d in range(10):
            fig.text((d + 0.5) / 10, 0.5, str(d), ha="center", va="center_baseline", color="black",
                     fontsize=28 * scale * 72 / 100 * 0.5, fontweight="bold", family="DejaVu Sans")
        canvas.draw()
        ink = 255 - np.asarray(canvas.buffer_rgba())[:, :, 0].astype(np.float64)
        ink = ink.reshape(28, scale, 10 * LABEL_WIDTH, scale).mean(axis=(1, 3))
        _GLYPHS = np.stack(np.split(np.round(ink).astype(np.uint8), 10, axis=1))
    return _GLYPHS


def _blank_grid(rows, columns, side, gutter):
    return np.full((rows * (28 + gutter) - gutter, columns * (28 + 2 * side + gutter) - gutter, 4), 255, np.uint8)


def _digit_grid(images, predictions, labels, rows, columns, colors, glyphs=None, gutter=0, errors_first=False):
    """MNIST digits as one RGBA uint8 image of rows x columns cells: black ink on white, or on
    red where the prediction is wrong (colors: the lookup table of _ink_colors). With glyphs,
    a wrong digit gets its correct label on its left and the computed one on its right.
    errors_first: the wrong digits first, in their order, then the right ones."""
    ink = np.asarray(images).reshape(-1, 28, 28)[:rows * columns]
    n = len(ink)
    predictions, labels = np.asarray(predictions)[:n], np.asarray(labels)[:n]
    wrong = predictions != labels
    if errors_first:
        order = np.argsort(~wrong, kind="stable")
        ink, predictions, labels, wrong = ink[order], predictions[order], labels[order], wrong[order]
    side = 0 if glyphs is None else glyphs.shape[2]
    height, width = 28 + gutter, 28 + 2 * side + gutter
    cells = np.zeros((rows * columns, height, width), np.uint8)  # ink, 0-255
    if ink.dtype == np.uint8:
        cells[:n, :28, side:side + 28] = ink
    else:  # float images in [0, 1]
        cells[:n, :28, side:side + 28] = np.clip(ink * 255 + 0.5, 0, 255)
    if side and wrong.any():
        w = np.flatnonzero(wrong)
        cells[w, :28, :side] = glyphs[labels[w]]
        cells[w, :28, side + 28:2 * side + 28] = glyphs[predictions[w]]
    index = cells.astype(np.uint16)
    index[np.flatnonzero(wrong)] += 256
    rgba = np.take(colors, index)  # [cells, height, width] uint32: one RGBA pixel each
    if gutter:
        rgba[:, 28:] = colors[0]
        rgba[:, :, 28 + 2 * side:] = colors[0]
    grid = rgba.reshape(rows, columns, height, width).transpose(0, 2, 1, 3)
    grid = grid.reshape(rows * height, columns * width)[:rows * height - gutter, :columns * width - gutter]
    return np.ascontiguousarray(grid).view(np.uint8).reshape(*grid.shape, 4)


def _temp_beside(path, extension):
    """A new, empty temporary file in the folder of path, ending in extension."""
    import tempfile
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".part{extension}", dir=folder)
    os.close(fd)
    return temp


def _make_readable(path):
    """mkstemp makes files private to their owner: give them the usual permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _save_atomically(path, write):
    """write(temp) writes the file; only a complete one replaces path."""
    temp = _temp_beside(path, os.path.splitext(path)[1] or ".png")
    try:
        write(temp)
        _make_readable(temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _compact_gif_writer(fps):
    """matplotlib's PillowWriter keeps every frame as a full RGB image until the end: the 500
    frames of a 10,000-iteration run would take gigabytes. This one keeps each frame in 256
    colours, zlib-compressed, and hands them to Pillow one at a time."""
    import io
    import zlib

    from matplotlib.animation import PillowWriter
    from PIL import Image

    class CompactGifWriter(PillowWriter):
        def grab_frame(self, **savefig_kwargs):
            buf = io.BytesIO()
            self.fig.savefig(buf, **{**savefig_kwargs, "format": "rgba", "dpi": self.dpi})
            rgb = Image.frombuffer("RGBA", self.frame_size, buf.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB")
            frame = rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            self._frames.append((frame.size, frame.getpalette(), zlib.compress(frame.tobytes(), 1)))

        def finish(self):
            def frames():
                for size, palette, data in self._frames:
                    frame = Image.frombytes("P", size, zlib.decompress(data))
                    frame.putpalette(palette)
                    yield frame
            images = frames()
            next(images).save(self.outfile, format="GIF", save_all=True, append_images=images,
                              duration=int(1000 / self.fps), loop=0)

    return CompactGifWriter(fps=fps)
