"""Flags: the command line every rung shares, checked before TensorFlow loads, and where the
dashboard goes (a window, a notebook, or text only).

Everything here is quick: `--help` and a bad flag are answered in a fraction of a second, and
a path that cannot be written is refused before training, not after it.
"""

import argparse
import os
import shutil
import sys

from .startup import UserError

MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit


def build_parser(description, iterations):
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=positive_int, default=iterations, metavar="N",
                        help=f"number of training iterations (default: {iterations}, this rung's)")
    parser.add_argument("--text", action="store_true",
                        help="text-only output, no dashboard window")
    parser.add_argument("--fast", action="store_true",
                        help="draw the dashboard within a time budget (~5%% of the time) instead "
                             "of at every update: the dense rungs train several times faster")
    parser.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist",
                        help="the data set: MNIST's handwritten digits (the default) or "
                             "Fashion-MNIST's clothes, harder, the same size")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="folder holding the four .gz IDX files (default: $MNIST_DATA_DIR or "
                             "$FASHION_MNIST_DATA_DIR, then data/ or data/fashion/ beside the "
                             "scripts; missing files are downloaded)")
    parser.add_argument("--seed", type=seed_int, default=0, metavar="N",
                        help="random seed for the initial weights, the batch order and dropout "
                             "(default: 0)")
    parser.add_argument("--save-image", type=image_file, metavar="FILE",
                        help="save the final dashboard as an image: FILE.png, .jpg, or .pdf or "
                             ".svg to zoom into (works with --text too)")
    parser.add_argument("--save-movie", type=movie_file, metavar="FILE",
                        help="record the dashboard, one frame per training update: FILE.gif "
                             "or FILE.mp4 (needs ffmpeg)")
    parser.add_argument("--logdir", type=log_folder, metavar="DIR",
                        help="write TensorBoard logs (curves and histograms) into DIR/<script>-"
                             "<time>, to compare runs: tensorboard --logdir DIR")
    parser.add_argument("--save-weights", type=weights_file, metavar="FILE.npz",
                        help="save the trained network at the end of the run")
    parser.add_argument("--load-weights", type=readable_file, metavar="FILE.npz",
                        help="start from a network saved with --save-weights")
    parser.add_argument("--evaluate", action="store_true",
                        help="no training: test the network given with --load-weights")
    parser.add_argument("--predict", type=readable_file, nargs="+", metavar="IMAGE",
                        help="at the end, classify these images (PNG, JPEG: a digit drawn dark on "
                             "light or light on dark, any size) and print the probabilities")
    return parser


def parse(description=None, argv=None, iterations=None):
    """The flags, parsed and checked (argparse answers --help and bad flags, exit status 2)."""
    parser = build_parser(description, iterations)
    args = parser.parse_args(argv)
    if args.evaluate and not args.load_weights:
        parser.error("--evaluate needs --load-weights FILE.npz: the network to test")
    return args


# --- checks of single flags (argparse turns ArgumentTypeError into a usage error) ---------------
def whole_number(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def positive_int(text):
    value = whole_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return value


def seed_int(text):
    """A seed numpy and TensorFlow both take: 0 to 2**32 - 1."""
    value = whole_number(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED:,}, not {value}")
    return value


def writable_output(text):
    """A path we will be able to write at the end of the run: checked now, before training."""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist: create it or pick "
                                         "another path")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {folder} is not writable: pick another path")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    return text


def readable_file(text):
    """A file that exists and can be read."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file")
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if not os.access(text, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text} cannot be read")
    return text


def log_folder(text):
    """--logdir: a folder we can write, and TensorBoard installed (TensorFlow writes its
    summaries with TensorBoard's code)."""
    import importlib.util
    if importlib.util.find_spec("tensorboard") is None:
        raise argparse.ArgumentTypeError("writing TensorBoard logs needs TensorBoard: "
                                         "pip install -r requirements-tensorboard.txt")
    return writable_folder(text)


def writable_folder(text):
    """A folder that exists and is writable, or that can be made in one that is."""
    folder = os.path.abspath(text)
    existing = folder if os.path.isdir(folder) else os.path.dirname(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(f"folder {existing} does not exist: create it or pick "
                                         "another path")
    if not os.access(existing, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {existing} is not writable: pick another path")
    return text


def weights_file(text):
    path = writable_output(text)
    if not path.lower().endswith(".npz"):
        raise argparse.ArgumentTypeError(f"{text}: a weights file must end in .npz")
    return path


IMAGE_FORMATS = (".png", ".jpg", ".jpeg", ".pdf", ".svg")  # what matplotlib writes by name


def image_file(text):
    path = writable_output(text)
    if os.path.splitext(path)[1].lower() not in IMAGE_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text}: an image must end in .png, .jpg, .pdf or .svg")
    return path


def movie_file(text):
    path = writable_output(text)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        try:
            import PIL  # noqa: F401  (the GIF writer)
        except ImportError:
            raise argparse.ArgumentTypeError(
                "writing a .gif needs Pillow: pip install pillow") from None
    elif extension == ".mp4":
        if shutil.which("ffmpeg") is None:
            raise argparse.ArgumentTypeError(
                "writing an .mp4 needs ffmpeg, which is not installed: install it or save a .gif")
    else:
        raise argparse.ArgumentTypeError(
            f"{text}: a movie must end in .mp4 (ffmpeg) or .gif (Pillow)")
    return path


# --- where the dashboard goes -------------------------------------------------------------------
def choose_mode(args):
    """("window" | "notebook" | "text", why text when a window was possible, or None)."""
    if args.text:
        return "text", None
    if in_spyder():
        return "spyder", ("Spyder's console cannot replace an image in place: running in text "
                          "mode; the final dashboard comes at the end")
    if in_notebook():
        return "notebook", None
    problem = display_problem()
    if problem:
        return "text", f"{problem}: running in text mode (add --text to say so and skip this check)"
    return "window", None


def in_notebook():
    """Whether this runs in a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab), where the
    dashboard shows in the cell's output. IPython in a terminal does not count."""
    ipython = sys.modules.get("IPython")
    get_shell = getattr(ipython, "get_ipython", None) if ipython is not None else None
    shell = get_shell() if get_shell is not None else None
    return getattr(shell, "kernel", None) is not None


def in_spyder():
    """Whether this runs in Spyder's IPython console."""
    return "spyder_kernels" in sys.modules


def display_problem():
    """Why no dashboard window can be opened here, or None when one can. A backend asked for
    by MPLBACKEND that cannot load is the user's error (UserError)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    import matplotlib
    import matplotlib.pyplot as plt  # settles the backend: Agg where no window can open
    requested = os.environ.get("MPLBACKEND")
    backend = matplotlib.get_backend()  # picks one if none was asked for: a GUI if it can
    if backend_is_interactive(backend):
        try:
            plt.switch_backend(backend)  # loads it: its toolkit must import
            return None
        except ImportError as exc:
            if not requested:
                return f"matplotlib cannot load its backend {backend!r} ({_one_line(exc)})"
            fix = TK_FIX if "tk" in requested.lower() else "install its toolkit"
            raise UserError(f"matplotlib cannot load the backend {requested!r} that MPLBACKEND "
                            f"asks for ({_one_line(exc)}): {fix}, or unset MPLBACKEND") from None
    if requested and backend_is_interactive(requested):
        if "tk" in requested.lower() and not tk_available():
            raise UserError(f"MPLBACKEND asks for {requested!r}, but this Python has no Tk "
                            f"({TK_FIX}), or unset MPLBACKEND")
        return f"matplotlib cannot open a {requested} window on the display {_display_name()}"
    if not requested and not tk_available():
        return f"no window: this Python has no Tk, which the dashboard window needs ({TK_FIX})"
    return f"matplotlib's backend {backend.lower()!r} cannot open a window"


def _display_name():
    return os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "of this machine"


def _one_line(exc):
    return " ".join(str(exc).split())


def _tk_fix():
    """How to get Tk, on this platform."""
    if sys.platform.startswith("linux"):
        return ("Debian/Ubuntu: sudo apt-get install python3-tk; "
                "Fedora: sudo dnf install python3-tkinter")
    if sys.platform == "darwin":
        return "Homebrew's Python: brew install python-tk; python.org's Python has it"
    if sys.platform == "win32":
        return "reinstall Python from python.org with 'tcl/tk and IDLE' ticked"
    return "install Tk for this Python"


TK_FIX = _tk_fix()


def backend_is_interactive(backend):
    """Whether a matplotlib backend can open a window (TkAgg, QtAgg...; not Agg, PDF...)."""
    from matplotlib.backends import BackendFilter, backend_registry
    return backend.lower() not in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)


def tk_available():
    try:
        import tkinter  # noqa: F401
        return True
    except ImportError:
        return False
