"""The dashboard in a desktop window (Tk, or another of matplotlib's GUI backends).

Frames are blitted (blitting.py): only the panels that changed are redrawn and copied to the
screen. The window keeps answering while the network trains: the runner comes back every
~0.1 s to handle its events. Space pauses (the runner then waits here), Ctrl-S saves a picture
in the current folder, Q or the close button ends the run. A window destroyed from outside
(by the window manager, `xdotool windowclose`, or `xkill`, which cuts the program's connection
to the screen) ends the run the same way: see survive_window_destruction(). The window opens
at the screen's size (screen_dpi) and, resized, scales the dashboard with it
(scale_with_the_window).
"""

import os
import sys
import time

import matplotlib
import matplotlib.style

from . import files
from .blitting import BlitManager
from .dashboard import STYLE_FILE
from .renderers import LiveRenderer
from .startup import held_signals


class WindowRenderer(LiveRenderer):
    on_display_lost = None  # the runner's: finish the run without the window, then exit
    _last_events = 0.0

    def new_figure(self):
        if _opened_early:  # the window open_early() showed while TensorFlow loaded
            import matplotlib.pyplot as plt
            figure = _opened_early.pop()
            survive_window_destruction(self._display_lost)  # now this run's to finish
            self._call(figure.canvas.flush_events)  # a close meanwhile is handled now
            if plt.fignum_exists(figure.number):
                self._call(figure.clear)  # raises if the window was destroyed from outside
            if self.closed or not plt.fignum_exists(figure.number):
                # closed while TensorFlow loaded: the run ends before it trains, its files
                # drawn offscreen
                from .renderers import new_agg_figure
                self._call(plt.close, figure)  # pyplot forgets it
                self.closed, self.manager = True, None
                return new_agg_figure()
        else:
            figure = window_figure(self.title, self._display_lost)
        self.manager = figure.canvas.manager
        return figure

    def attach(self, dashboard):
        super().attach(dashboard)
        self.canvas = dashboard.canvas
        self.blitter = BlitManager(self.canvas, dashboard.groups, dashboard.regions,
                                   dashboard.cached, dashboard.background_key)
        dashboard.drawing_context = self.blitter.everything_drawn
        dashboard.on_layout_change = self._redraw_now
        dashboard.request_frame = self.present
        if self.gone():  # closed while TensorFlow loaded: no window to show
            return
        self.canvas.mpl_connect("key_press_event", self._on_key)
        self.manager.set_window_title(self.title)
        self._call(self.manager.show)
        # the empty dashboard, before training starts: drawn by Tk once the window has its size
        self.handle_events()
        if self.blitter.full_draws == 0:
            self._call(self.canvas.draw)

    # -- frames ------------------------------------------------------------------------------------
    def present(self, changed):
        if not self.gone():
            self._call(self.blitter.update, changed)
            self.handle_events()

    def _redraw_now(self):
        """A key changed the picture (layout, zoom): draw it at once, also while paused."""
        if not self.gone():
            self.dashboard.refresh()
            self._call(self.canvas.draw_idle)

    # -- events ------------------------------------------------------------------------------------
    def handle_events(self):
        """Let Tk show the frame and handle the keys: at most every 20 ms (a call costs ~5 ms)."""
        now = time.perf_counter()
        if not self.gone() and now - self._last_events >= 0.02:
            self._call(self.canvas.flush_events)
            self._last_events = time.perf_counter()

    def wait_for_events(self, seconds):
        self._call(self.canvas.start_event_loop, seconds)

    def wait_until_closed(self):
        """The run is done: the window stays, with the final picture, until the user closes it
        (Ctrl-C closes it too)."""
        if self.gone():
            return
        self.frame(force=True)
        while not self.gone() and not held_signals.received:
            self.wait_for_events(0.1)

    def close(self):
        import matplotlib.pyplot as plt
        if self.dashboard is not None:
            self._call(plt.close, self.dashboard.fig)  # also when gone: pyplot forgets it
        super().close()

    def _on_key(self, event):
        if event.key == "ctrl+s":
            self.save_snapshot()

    def save_snapshot(self):
        """Ctrl-S: the dashboard as it is now, in <script>-<iteration>.png in the current folder."""
        name = os.path.splitext(os.path.basename(self.title))[0] or "dashboard"
        path = os.path.abspath(f"{name}-{self.dashboard.iteration}.png")
        try:
            files.save_image(path, self.dashboard)  # 1600x900 pixels, whatever the window's size
        except OSError as exc:
            print(f"error: cannot save {path} ({exc.strerror or exc}): run the script from a "
                  "folder you can write to", file=sys.stderr, flush=True)
            return None
        print(f"saved the dashboard: {path}", flush=True)
        return path

    # -- the window's toolkit ----------------------------------------------------------------------
    def _display_lost(self):
        """The connection to the screen was cut (xkill). The figure moves to an offscreen canvas
        of its own, so that drawing it for the files still to write calls no toolkit (a draw
        on the window's canvas sets its wait cursor: a crash, without a screen), then the
        runner finishes the run."""
        self.closed = True
        if self.dashboard is not None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            FigureCanvasAgg(self.dashboard.fig)  # the figure's canvas from now on
        if self.on_display_lost is not None:
            self.on_display_lost()

    def gone(self):
        """Closed (Q, the close button, plt.close) or destroyed from outside."""
        if not self.closed:
            import matplotlib.pyplot as plt
            if not plt.fignum_exists(self.manager.num):
                self.closed = True
        return self.closed

    def _call(self, function, *args):
        """Call the toolkit; a window destroyed from outside (xkill, the window manager) makes
        it raise: the window counts as closed, and the run ends as if it had been closed."""
        try:
            return function(*args)
        except toolkit_errors():
            self.closed = True
            return None


def window_figure(title, on_display_lost):
    """A new pyplot figure in the dashboard's style, sized to fit the screen: its window."""
    import matplotlib.pyplot as plt
    if matplotlib.get_backend().lower().startswith("tk"):
        survive_window_destruction(on_display_lost)
    matplotlib.style.use(STYLE_FILE)
    dpi = screen_dpi(matplotlib.rcParams["figure.figsize"], matplotlib.rcParams["figure.dpi"])
    figure = plt.figure(num=title, dpi=dpi)
    scale_with_the_window(figure)
    return figure


MIN_DPI = 20  # the smallest scale a resized window draws at (the style's is 100)


def scale_with_the_window(figure):
    """A resized window scales the whole dashboard, text and lines included, as screen_dpi()
    does for the screen at start-up: the figure's dpi follows the window's size, so that its
    16x9 inches (or as near as the window's shape allows) fill it. With the dpi fixed, text kept
    its size in a smaller window, and titles and labels overlapped (a window beside an editor,
    half a 1920-pixel screen wide, say)."""
    design_width, design_height = matplotlib.rcParams["figure.figsize"]

    def on_resize(event):
        width, height = figure.bbox.width, figure.bbox.height  # the window's pixels
        # whole dpis: the text's measures are cached per dpi (textline.py)
        dpi = max(int(min(width / design_width, height / design_height)), MIN_DPI)
        if dpi != round(figure.dpi):
            figure.set_size_inches(width / dpi, height / dpi, forward=False)
            figure.set_dpi(dpi)  # the same pixels: the window keeps its size

    figure.canvas.mpl_connect("resize_event", on_resize)


# --- the window, opened while TensorFlow loads -------------------------------------------------
_opened_early = []  # the figure open_early() showed, for the run's renderer to take over


def open_early(title):
    """Show the window at once, before TensorFlow loads (4-5 s on a small machine), with a
    "loading TensorFlow" line; the run's renderer draws the dashboard in it once TensorFlow
    and the data are ready. Making the window takes ~0.8 s (matplotlib, Tk, the figure) that
    the run spends anyway, only earlier. Until then it handles no events: a close, say, is
    acted on then, and ends the run as usual. Returns whether the window is open; where the
    toolkit fails, the renderer will make the window later, and say why if it cannot."""
    try:
        figure = window_figure(title, _lost_before_training)
        figure.text(0.5, 0.5, "loading TensorFlow ...", ha="center", va="center",
                    fontsize="xx-large", color="0.45")
        manager = figure.canvas.manager
        manager.set_window_title(title)
        manager.show()
        figure.canvas.draw()
        figure.canvas.flush_events()  # Tk shows the window now
    except Exception:  # noqa: BLE001 - whatever the toolkit raises, the renderer's turn comes
        import matplotlib.pyplot as plt
        try:
            plt.close(title)  # not to be taken for the run's window, "loading" line and all
        except Exception:  # noqa: BLE001
            pass
        return False
    _opened_early.append(figure)
    return True


def _lost_before_training():
    print("stopped before training started (window destroyed)", file=sys.stderr, flush=True)


def toolkit_errors():
    """What the GUI toolkit raises for a window that no longer exists."""
    errors = []
    if "tkinter" in sys.modules:
        errors.append(sys.modules["tkinter"].TclError)
    return tuple(errors) or (RuntimeError,)


def screen_dpi(figsize, dpi):
    """The dpi at which a figure of figsize inches fits the screen with its window's title bar,
    toolbar and a task bar: lowering the dpi scales the whole layout, text included. None when
    the screen's size is unknown (only Tk is asked: other toolkits keep the style's size)."""
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


# --- a window destroyed from outside (X11) -----------------------------------------------------
_handlers = []  # the ctypes callbacks, alive as long as the program
_on_display_lost = []  # what they call when the connection to the screen is lost


def survive_window_destruction(on_display_lost):
    """X11: keep the run alive when another program destroys its window.

    Xlib's default handlers end the process at once, without a word: on an X error (the
    BadWindow that follows `xdotool windowclose` or a window manager's kill) and on the loss of
    the connection to the X server (`xkill`). Installed before Tk opens the display, these
    handlers take their place: Tk still handles the errors it expects, the others are ignored
    (the window's close event then ends the run as usual), and a lost connection calls
    `on_display_lost`, which must finish the run: Xlib ends the process when its handler
    returns, so this one exits itself. Xlib has no Python interface, hence ctypes; where it
    cannot be loaded (not X11: Windows, macOS, Wayland without XWayland), nothing changes.
    """
    _on_display_lost[:] = [on_display_lost]  # the latest caller's, once installed
    if _handlers or not os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin"):
        return False
    import ctypes
    import ctypes.util
    try:
        xlib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        set_error_handler, set_io_error_handler = xlib.XSetErrorHandler, xlib.XSetIOErrorHandler
    except (OSError, AttributeError):
        return False
    error_handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    io_error_handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

    def on_error(display, event):
        return 0  # an X request on a window that is no more: nothing to do

    def on_io_error(display):
        _on_display_lost[0]()
        os._exit(0)

    _handlers.extend((error_handler(on_error), io_error_handler(on_io_error)))
    set_error_handler.argtypes, set_io_error_handler.argtypes = [error_handler], [io_error_handler]
    set_error_handler(_handlers[0])
    set_io_error_handler(_handlers[1])
    return True

