"""Start-up: TensorFlow's CPU options, its quiet import, seeds, signals and one-line errors.

TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, as it loads: `enable_onednn()` must run before
anything imports TensorFlow, which is why the rungs import tensorflowvisu first and parse their
flags before they import TensorFlow. TensorFlow's oneDNN kernels make the convolutional rungs
2-2.5x faster on a CPU, but TensorFlow switches them on by itself only on CPUs with AVX-512
neural-network instructions. (TF_ENABLE_ONEDNN_OPTS=0 turns them off; results differ only in
rounding.)
"""

import contextlib
import gc
import os
import signal
import sys
import tempfile
import threading
import time


def enable_onednn():
    """oneDNN on, and TensorFlow's informational log off (XLA says "Compiled cluster using
    XLA!" as a run starts): both unless the environment says otherwise."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")


def import_tensorflow():
    """Import TensorFlow and start its runtime with its C++ start-up log kept off the terminal;
    return the seconds it took.

    TensorFlow writes about ten lines to stderr as it loads (oneDNN is on, no CUDA driver, CPU
    instructions, cuInit failed) that look like errors to a learner, and TF_CPP_MIN_LOG_LEVEL
    does not silence them. They go to a temporary file, shown only if the import fails.
    TF_CPP_MIN_LOG_LEVEL=0 shows them. No TensorFlow at all: a one-line error, exit status 2.
    Python's garbage collector is paused meanwhile (see collector_paused).
    """
    started = time.perf_counter()
    if "tensorflow" in sys.modules:
        return 0.0
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
            with collector_paused():
                import tensorflow as tf
                tf.constant(0.0)  # starts the runtime, which logs its device search too
        except BaseException as exc:
            if saved_stderr is not None:
                _restore_stderr(saved_stderr)
                saved_stderr = None
                if not isinstance(exc, (KeyboardInterrupt, Terminated)):
                    log.seek(0)
                    sys.stderr.write(log.read().decode(errors="replace"))
            if isinstance(exc, ModuleNotFoundError) and exc.name == "tensorflow":
                raise UserError(f"TensorFlow is not installed for {sys.executable}: run "
                                "pip install -r requirements.txt (see INSTALL.txt)") from None
            raise
        finally:
            if saved_stderr is not None:
                _restore_stderr(saved_stderr)
    return time.perf_counter() - started


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off for a while, then every object made so far frozen
    (`gc.freeze()`: left out of all later collections; they live as long as the program).

    TensorFlow's import makes ~400,000 Python objects (modules, functions, classes) and almost
    no garbage: the collector's full passes over them took 0.7-1.1 s of a 4-6 s import on a
    2-core CPU (16 unreachable objects found after it). Frozen, they are not scanned again
    either: a full pass during training (one every ~1,000 iterations of rung 3.0 with its
    dashboard) took 0.3 s, holding Python's lock."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _restore_stderr(saved):
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


def device_line():
    """Which device TensorFlow trains on: the GPU it found, or the CPU."""
    import tensorflow as tf
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        first = tf.config.list_physical_devices("GPU")[0]
        details = tf.config.experimental.get_device_details(first)
        return f"the GPU ({details.get('device_name', gpus[0].name)})"
    return f"the CPU ({os.cpu_count()} cores)"


def seed_everything(seed):
    """The same seed, the same run: Python's, numpy's and TensorFlow's random generators."""
    import keras
    keras.utils.set_random_seed(seed)


# --- endings before training starts, and signals ----------------------------------------------
class UserError(Exception):
    """A problem with what the user gave (a flag, a file, the installation): reported in one
    line, with the fix, and exit status 2."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP (kill, a closing terminal, a job scheduler): the run ends as with
    Ctrl-C, then exits with status 128 + the signal's number. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` swallows it."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _raise_terminated(signum, frame):
    raise Terminated(signum)


def catch_termination():
    """Make SIGTERM and SIGHUP end the run like Ctrl-C (see Terminated). A signal that is
    ignored (nohup ignores SIGHUP, a background job SIGINT) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _raise_terminated)


class held_signals:
    """While training: Ctrl-C, SIGTERM and SIGHUP are noted, and `stop_if_asked()` raises them
    at the runner's next safe point (every ~0.1 s in a window, every training chunk in text
    mode). Raised at once, they could land inside a window toolkit's callback, which swallows
    them. `finishing = True`: a signal during the finish only gets a line saying to wait."""

    received = None  # the first signal noted, not yet acted upon
    finishing = False

    def __enter__(self):
        self.saved = {}
        held_signals.received, held_signals.finishing = None, False
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                signum = getattr(signal, name, None)
                handler = signal.getsignal(signum) if signum is not None else None
                if handler not in (None, signal.SIG_IGN):
                    self.saved[signum] = signal.signal(signum, self._note)
        return self

    @classmethod
    def _note(cls, signum, frame):
        if cls.finishing:
            try:
                print("finishing the run: one moment", file=sys.stderr, flush=True)
            except OSError:
                pass
        elif cls.received is None:
            cls.received = signum

    @classmethod
    def stop_if_asked(cls):
        """Raise KeyboardInterrupt (Ctrl-C) or Terminated for a signal noted meanwhile."""
        signum, cls.received = cls.received, None
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        if signum is not None:
            raise Terminated(signum)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is SystemExit:  # the program ends, its files written: signals are ignored
            for signum in self.saved:  # (SIG_IGN, which Python keeps while it shuts down)
                signal.signal(signum, signal.SIG_IGN)
            return False
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
        held_signals.received, held_signals.finishing = None, False
        return False


# as a shell reports a command that SIGPIPE ended (Windows has no SIGPIPE: its number on Linux)
OUTPUT_CLOSED_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def output_closed():
    """Standard output's reader is gone (`python3 mnist_1.0_softmax.py | head -3`): Python
    then raises BrokenPipeError at every print. The lines still to come (the end of the run, the
    files saved) go to standard error instead, which the terminal still shows, and the closed
    pipe becomes /dev/null, so that Python's last flush at exit has nothing to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor behind sys.stdout
        pass
    sys.stdout = sys.stderr


def report_user_errors(*user_errors):
    """Install a sys.excepthook that ends the script with one line and exit status 2 for the
    user's mistakes (UserError and the given classes, e.g. mnistdata's data errors), and says in
    one line that the run stopped for Ctrl-C or SIGTERM before training began. Tracebacks are
    kept for everything else: those are bugs."""
    default_hook = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, (UserError, *user_errors)):
            _exit_with(f"error: {exc}", 2)
        elif issubclass(exc_type, KeyboardInterrupt):
            _exit_with("stopped before training started (Ctrl-C)", 130)
        elif issubclass(exc_type, Terminated):
            _exit_with(f"stopped before training started ({exc})", 128 + exc.signum)
        elif issubclass(exc_type, BrokenPipeError):
            output_closed()
            _exit_with("stopped before training started (standard output closed)",
                       OUTPUT_CLOSED_STATUS)
        default_hook(exc_type, exc, tb)

    sys.excepthook = hook


def _exit_with(message, status):
    try:
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)
    except OSError:  # a closed terminal
        pass
    os._exit(status)  # from sys.excepthook, an uncaught exception would exit with status 1
