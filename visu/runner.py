"""The runner: trains a rung on its schedule and reports, in text lines and on the dashboard.

`MnistDataVis.animate` trains for the run's iterations and reports the training results every
`train_data_update_freq` iterations and the test results every `test_data_update_freq`, as text
lines (--text) or on the dashboard. Every way a run can end goes through one finish: the run
completes; Q or the window's close button; Ctrl-C; SIGTERM or SIGHUP; a window destroyed from
outside; a NaN loss; standard output closed (`| head`: the rest goes to standard error). The
finish writes the --save-image and --save-movie files (or removes an empty movie), prints
`final test accuracy` and, last on standard output, `max test accuracy`.
Any other exception is a bug: its traceback is shown, and no temporary file is left behind.

The training itself, many steps per Python call, is training.py's `Trainer`.
"""

import concurrent.futures
import inspect
import math
import sys
import time

import numpy as np

from . import files, predict, priority, renderers
from . import weights as weightfile
from .dashboard import Dashboard
from .startup import OUTPUT_CLOSED_STATUS, Terminated, held_signals, output_closed
from .training import Trainer, update_points


class LossIsNaN(Exception):
    """The loss became NaN: training cannot go on."""


class WindowClosed(Exception):
    """The dashboard window was closed (Q, its close button) or destroyed."""


class Ending:
    """How a run ended: what to say, the exit status, and whether a script exits at once
    (after a signal or a NaN) rather than going on after animate()."""

    def __init__(self, reason, status=0, message=None, exits=False):
        self.reason, self.status, self.message = reason, status, message
        self.exits = exits or status != 0

    @property
    def done(self):
        return self.reason == "done"


def duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def flat(tensors):
    """A list of tensors (or one) as one flat numpy array."""
    if not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    return np.concatenate([np.asarray(t).ravel() for t in tensors]) if tensors else np.zeros(0)


def label_numbers(labels):
    """Labels as integers, from one-hot or integer labels."""
    return np.argmax(labels, 1) if labels.ndim == 2 else labels.astype(np.int64)


# --- the run ------------------------------------------------------------------------------------
class MnistDataVis:
    """Trains a rung and shows it: a live six-panel dashboard, or text lines with --text.
    title4, title5: what panels 4 and 5 show (see `animate`)."""

    def __init__(self, args, title4="Weights", title5="Biases", title=None):
        self.args = args
        self.title = title or getattr(args, "script", None) or "mnist"
        self.titles = (title4, title5)
        # where the frames go, and how the run reports beside them (text lines, a progress
        # line, whether an ending ends the script): the renderer says, whatever the mode
        self.renderer = renderers.choose(getattr(args, "mode", "text"),
                                         fast=getattr(args, "fast", False), title=self.title)
        self.test_accuracies = []
        self.dashboard = None  # when something shows or saves it
        self.movie = None
        self.interrupted_at = None
        self.ending = None
        self.log = None  # --logdir

    def get_max_test_accuracy(self):
        """The best test accuracy seen during training (0 if no test was run)."""
        return max(self.test_accuracies, default=0.0)

    def animate(self, training_step, evaluate, mnist, weights, biases, learning_rate,
                train_data_update_freq=20, test_data_update_freq=100, more_tests_at_start=False):
        """Train for args.iterations mini-batches of 100 images, reporting on a schedule.

        training_step(X, Y_, i): the rung's tf.function training one mini-batch at iteration i.
        evaluate(X, Y_): (Y, accuracy, loss), the predicted probabilities, accuracy and loss on
        images X with one-hot labels Y_; or (Y, accuracy, loss, values4, values5): then panels
        4 and 5 show values4 and values5 (lists of tensors) on the training batch, else the
        weights and the biases (lists of variables). learning_rate: a variable, or None.
        """
        self.iterations = 0 if getattr(self.args, "evaluate", False) else self.args.iterations
        self.evaluate, self.mnist = evaluate, mnist
        # the rung's variables (W1, B1...), by name, for --save-weights and --load-weights
        self.variables = weightfile.variables_of(inspect.currentframe().f_back.f_globals)
        self.weights, self.biases, self.learning_rate = weights, biases, learning_rate
        self.i = 0
        self.worker, self.chunk = None, None  # the training thread, and its chunk under way
        with held_signals():
            self._run(training_step, train_data_update_freq, test_data_update_freq,
                      more_tests_at_start)
            if self.ending.exits and self.renderer.exits_the_script:
                # the script ends here, the signals still held: a late Ctrl-C is harmless
                sys.exit(self.ending.status)

    def _run(self, training_step, train_freq, test_freq, more_tests_at_start):
        try:
            try:
                self._start_files()
                self._open_dashboard()
                self.trainer = Trainer(training_step, self.mnist.train)
                self.start_time = time.perf_counter()
                self._train(update_points(self.iterations, train_freq, test_freq,
                                          more_tests_at_start))
                ending = Ending("done")
            except KeyboardInterrupt:
                ending = Ending("interrupted (Ctrl-C)", exits=True)
            except Terminated as exc:
                ending = Ending(f"terminated ({exc})", status=128 + exc.signum)
            except WindowClosed:
                ending = Ending("window closed")
            except LossIsNaN as exc:
                ending = Ending("the loss became NaN", status=1, message=str(exc))
            except BrokenPipeError:  # `... | head`: what is left goes to stderr
                output_closed()
                ending = Ending("standard output closed", status=OUTPUT_CLOSED_STATUS)
            self.ending = ending
            self._finish(ending)
        finally:
            self._close()

    # -- training ----------------------------------------------------------------------------------
    def _train(self, points):
        """Train from one update point to the next and report there. With a live dashboard,
        training goes on in a worker thread (TensorFlow computes without Python's lock) while
        this thread draws the last update's frame and handles the window's events; reports are
        taken between two chunks, when no training runs, so they see one state of the network;
        what is computed from them (the bands' percentiles, the log's histograms) is computed
        while the next chunk trains."""
        live = self.renderer.live
        # drawing every update, where training waits for the frames, they are drawn first:
        # training gets the rest of the CPU
        gives_way = priority.TrainingGivesWay() if live and self.renderer.every_update else None
        if live:
            self.worker = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="training",
                initializer=gives_way.note_this_thread if gives_way else None)
        schedule = list(points.items())
        for k, (point, (train_update, test_update)) in enumerate(schedule):
            self._train_until(point)
            report = self._train_update(point) if train_update else None
            if test_update:
                self._test_update(point)
            # the next chunk trains meanwhile; not the first, which traces the training step in
            # Python as the first frame draws, also in Python: sharing Python's lock, they took
            # 0.9 s and 2.8-3.9 s on rung 3.0, 0.3 s and 2.5-3.0 s one after the other
            if live and 0 < k < len(schedule) - 1 and not self.renderer.paused():
                self._start_training(schedule[k + 1][0])  # meanwhile: the frame, the movie
            if report is not None:
                report()  # what needs no network (the bands' percentiles), as training goes on
            if gives_way:
                gives_way.lower_new_threads()
            if live:
                self.renderer.frame()
            if gives_way and self.chunk is not None:  # (None: the frame was drawn alone)
                gives_way.after_frame(held_up=self.chunk.done())
            if train_update and self.movie is not None:
                self.movie.grab()

    def _start_training(self, point):
        """Train up to `point` in the worker thread."""
        self.chunk = self.worker.submit(self.trainer.train, point - self.trainer.i)

    def _train_until(self, point):
        """Up to `point`: the worker's chunk, or one trained here. Between chunks, the window's
        events (and pause); signals and a closed window stop the run."""
        while True:
            if self.chunk is None and self.trainer.i < point:
                if self.worker is None:
                    self.trainer.train(point - self.trainer.i)
                else:
                    self._start_training(point)
            if self.chunk is not None:
                while not (self.chunk.done() or self.renderer.gone() or held_signals.received):
                    # wakes as soon as the chunk is done; meanwhile, the window's events
                    concurrent.futures.wait([self.chunk], timeout=0.03)
                    self.renderer.handle_events()
                self._wait_for_training()
            self.i = self.trainer.i
            held_signals.stop_if_asked()
            if self.dashboard is not None and not self.renderer.tick():  # (waits while paused)
                raise WindowClosed
            held_signals.stop_if_asked()
            if self.trainer.i >= point:
                return

    def _wait_for_training(self):
        """The end of the worker's chunk (its exception, if it raised one)."""
        chunk, self.chunk = self.chunk, None
        if chunk is not None:
            chunk.result()
            self.i = self.trainer.i

    def _train_update(self, i):
        images, labels = self.trainer.last_batch
        outputs = self.evaluate(images, labels)
        Y, accuracy, loss = (np.asarray(x) for x in outputs[:3])
        accuracy, loss = float(accuracy), float(loss)
        # the rate the last step trained with: none before the first step (the optimizer's
        # initial value there is only a placeholder on the rungs that set it at every step)
        trained = self.learning_rate is not None and i > 0  # i: the steps done
        learning_rate = float(self.learning_rate) if trained else None
        if math.isnan(loss):
            raise LossIsNaN(
                f"error: the loss became NaN at iteration {i}. Usually a log(0) in the "
                "cross-entropy: compute it from the logits with "
                "tf.nn.softmax_cross_entropy_with_logits, as rung 2.0 does "
                "(a learning rate that is too high does it too)")
        if self.renderer.text_lines:
            lr = f" (lr: {learning_rate:.6g})" if learning_rate is not None else ""
            print(f"{i}: accuracy: {accuracy:.4f} loss: {loss:.4f}{lr}", flush=True)
        if not (self.dashboard or self.log):
            return None
        # the network's values now, before training goes on; what is made of them, later
        all_weights, all_biases = flat(self.weights), flat(self.biases)
        values4, values5 = ((flat(outputs[3]), flat(outputs[4])) if len(outputs) == 5
                            else (all_weights, all_biases))
        epoch = self.mnist.train.epoch

        def report():
            """To the dashboard and the log: their percentiles and histograms (~4 ms on the
            dense rungs), computed while the next iterations train."""
            if self.dashboard:
                self.dashboard.update_train(i, accuracy, loss, images, np.argmax(Y, 1),
                                            label_numbers(labels), values4, values5,
                                            epoch=epoch, learning_rate=learning_rate)
            if self.log:
                histograms = {"weights": all_weights, "biases": all_biases}
                if len(outputs) == 5:
                    histograms.update(zip(self.titles, (values4, values5)))
                self.log.train(i, accuracy, loss, learning_rate, histograms)
        return report

    def _test_update(self, i):
        test = self.mnist.test
        Y, accuracy, loss = (np.asarray(x) for x in self.evaluate(test.images, test.labels)[:3])
        accuracy, loss = float(accuracy), float(loss)
        self.test_accuracies.append(accuracy)
        elapsed = time.perf_counter() - self.start_time
        progress = ""
        if i > 0:
            remaining = elapsed / i * (self.iterations - i)
            progress = (f"{100 * i / self.iterations:.0f}%, {i / elapsed:.0f} it/s, "
                        f"{duration(elapsed)} elapsed")
            progress += f", {duration(remaining)} left" if i < self.iterations else ""
        if self.renderer.text_lines:
            print(f"{i}: ********* epoch {self.mnist.train.epoch:.2f} ********* "
                  f"test accuracy: {accuracy:.4f} test loss: {loss:.4f}"
                  + (f" [{progress}]" if progress else ""), flush=True)
        if self.renderer.progress_line:
            print(f"\riteration {i:,} of {self.iterations:,}: test accuracy {accuracy:.4f} "
                  f"(best {self.get_max_test_accuracy():.4f})"
                  + (f" [{progress}]" if progress else "") + " " * 10, end="", flush=True)
        if self.dashboard:
            self.dashboard.update_test(i, accuracy, loss, test.images, np.argmax(Y, 1),
                                       label_numbers(test.labels))
        if self.log:
            self.log.test(i, accuracy, loss)

    # -- the dashboard and its files ---------------------------------------------------------------
    def _open_dashboard(self):
        """The dashboard, when something shows or saves it."""
        if not (self.renderer.live or self.renderer.on_screen or self.args.save_image
                or self.args.save_movie):
            return  # text lines only
        self.renderer.on_display_lost = self._display_lost
        figure = self.renderer.new_figure()
        self.dashboard = Dashboard(figure, self.title, self.iterations, *self.titles,
                                   noun=getattr(self.mnist, "noun", "digits"),
                                   classes=getattr(self.mnist, "classes", None))
        self.dashboard.pad.predict = lambda image: self.predict(image[None])[0]
        self.renderer.attach(self.dashboard)
        if self.args.save_movie:
            self.movie = files.Movie(self.args.save_movie, self.dashboard)

    def _finish(self, ending):
        """The one finish of every run. A second Ctrl-C or a SIGTERM meanwhile only gets a line
        saying to wait: the files are being written."""
        held_signals.finishing = True
        try:
            self._wait_for_training()  # a chunk under way ends first
        except Exception:  # noqa: BLE001  (ending anyway; its error would hide the reason)
            pass
        if not ending.done:
            self.interrupted_at = self.i
            say(f"\nstopped at iteration {self.i} of {self.iterations}: {ending.reason}")
        if ending.message:
            say(ending.message)
        if self.dashboard:
            self.dashboard.set_state(ending="done" if ending.done else "stopped")
            if self.renderer.live and not self.renderer.closed:
                self.renderer.frame(force=True)
            if self.movie is not None:
                self._save(self.args.save_movie, self.movie.finish)
            if self.args.save_image:
                self._save(self.args.save_image,
                           lambda: files.save_image(self.args.save_image, self.dashboard))
        if getattr(self.args, "save_weights", None):
            self._save(self.args.save_weights, lambda: weightfile.save(
                self.args.save_weights, self.variables, self.title))
        if ending.done:
            self._predictions()
        self._print_summary()
        held_signals.finishing = False
        if ending.done and self.dashboard is not None:
            self.renderer.wait_until_closed()  # Ctrl-C closes it too

    def _start_files(self):
        """--load-weights, and the --logdir folder."""
        if getattr(self.args, "load_weights", None):
            saver = weightfile.load(self.args.load_weights, self.variables, self.title)
            print(f"loaded the weights saved by {saver} from {self.args.load_weights}", flush=True)
        if getattr(self.args, "logdir", None):
            from .tensorboard import TensorBoardLog
            self.log = TensorBoardLog(self.args.logdir, self.title)
            print(f"TensorBoard logs: {self.log.path} (see them: tensorboard --logdir "
                  f"{self.args.logdir})", flush=True)

    def predict(self, images):
        """The network's probabilities [N, 10] for images [N, 28, 28] of ink in [0, 1]."""
        images = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
        outputs = self.evaluate(images, np.zeros((len(images), 10), np.float32))
        return np.asarray(outputs[0])

    def _predictions(self):
        """--predict: the images, classified by the trained network."""
        classes = getattr(self.mnist, "classes", predict.DIGITS)
        for path in getattr(self.args, "predict", None) or []:
            image = predict.like_training_images(predict.read_image(path), classes)
            tell(predict.describe(path, self.predict(image[None])[0], classes))

    def _display_lost(self):
        """The window's connection to the screen was cut (xkill): finish without the window,
        from inside the window toolkit (see window.survive_window_destruction), the window
        renderer closed and its figure offscreen already."""
        if self.ending is None:
            self.ending = Ending("window destroyed")
            self._finish(self.ending)
        self.renderer = None  # nothing left to close
        self._close()
        sys.stdout.flush()
        sys.stderr.flush()

    def _save(self, path, write):
        """write() writes path; False: it had nothing to write (an empty movie)."""
        try:
            wrote = write()
        except OSError as exc:
            say(f"error: cannot write {path}: {exc.strerror or exc}")
            return
        if wrote is not False:
            tell(f"saved {path}")

    def _print_summary(self):
        elapsed = time.perf_counter() - getattr(self, "start_time", time.perf_counter())
        try:
            if self.renderer.progress_line:
                tell("")  # below the progress line
            if self.test_accuracies:
                tell(f"final test accuracy: {self.test_accuracies[-1]:.4f} after {self.i} "
                     f"iterations in {duration(elapsed)}")
            tell(f"max test accuracy: {self.get_max_test_accuracy():.4f}")
        except OSError:  # the terminal is gone (SIGHUP)
            pass

    def _close(self):
        """Whatever ended the run: no movie writer left running, no temporary file left."""
        if self.worker is not None:
            self.worker.shutdown(wait=True)
        if self.log is not None:
            self.log.close()
        if self.movie is not None:
            self.movie.abort()
        if self.renderer is not None:  # (None: the display was lost, nothing left to close)
            self.renderer.close()
        files.remove_temporary_files()


def tell(line):
    """A line on standard output; if its reader is gone (`| head`), on standard error."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        output_closed()
        print(line, flush=True)


def say(message):
    """A line on stderr, also when the terminal is gone."""
    try:
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)
    except OSError:
        pass
