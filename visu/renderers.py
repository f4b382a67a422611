"""Renderers: where the dashboard's frames go.

The dashboard draws into a figure; a renderer makes that figure and shows it:

- `Renderer` (this module): offscreen, no live frames; the dashboard is drawn only for the
  files (--save-image, --save-movie) of a run in text mode;
- `LiveRenderer` (this module): the frame policy every live renderer shares: every update
  drawn, or, with --fast, frames within a time budget. `AggLiveRenderer` draws live frames
  offscreen, as a window would (TFVISU_FORCE_DASHBOARD=1: what the window costs training);
- `window.WindowRenderer`: a desktop window (Tk, Qt...), blitting, keys, pause;
- `notebook.NotebookRenderer`: a Jupyter/Colab cell's output.

`choose()` picks one for the run's mode. A renderer is driven by the runner: `frame()` at each
update point, `tick()` between training chunks (events; blocks while paused; False once the
window is closed), `wait_until_closed()` at the end of a completed run, `close()` always.

A renderer also tells the runner how the run reports beside the frames (`text_lines`,
`progress_line`, `exits_the_script`): the runner asks the renderer, never the mode. They follow
from three facts a renderer's class states, `live`, `on_screen` and `in_kernel`, so a new sink
says how its runs report in its own class (and `choose()` names it).
"""

import os
import statistics
import sys
import time

import matplotlib
import matplotlib.style

from . import flags
from .dashboard import STYLE_FILE
from .startup import held_signals

DRAW_BUDGET = 20  # --fast: the next frame waits 20x a frame's duration: ~5% of the time drawing


def choose(mode, fast=False, title=""):
    """The renderer for a run: mode is "window", "notebook", "spyder" or "text" (from
    flags.choose_mode)."""
    if mode == "window":
        from .window import WindowRenderer
        return WindowRenderer(title, every_update=not fast)
    if mode == "notebook":
        from . import notebook
        if notebook.is_widget_backend():
            return notebook.WidgetRenderer(title, every_update=not fast)
        return notebook.NotebookRenderer(title, every_update=not fast)
    if mode == "spyder":
        from .notebook import NotebookRenderer
        return NotebookRenderer(title, live=False)
    if os.environ.get("TFVISU_FORCE_DASHBOARD", "") not in ("", "0"):
        renderer = AggLiveRenderer(title, every_update=not fast)
    else:
        renderer = Renderer(title)
    renderer.in_kernel = flags.in_notebook()  # --text in a notebook: the kernel lives on
    return renderer


def new_agg_figure():
    """A figure on an offscreen Agg canvas of its own (not pyplot's: nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure()
    FigureCanvasAgg(figure)
    return figure


class Renderer:
    """Offscreen: the dashboard is drawn only for the image and movie files."""

    live = False  # frames while training
    on_screen = False  # someone sees the dashboard (its frames, or its last one at the end)
    in_kernel = False  # in a notebook's kernel, which lives on after the script

    @property
    def text_lines(self):
        """A line on standard output per report, unless live frames on screen show them."""
        return not (self.live and self.on_screen)

    @property
    def progress_line(self):
        """One line rewritten in place at each test: under a notebook's live frames (a window
        has its status line)."""
        return self.live and self.on_screen and self.in_kernel

    @property
    def exits_the_script(self):
        """Whether a run ended by a signal or a NaN then ends the script (sys.exit with its
        status): not in a notebook's kernel, which goes on."""
        return not self.in_kernel

    def __init__(self, title=""):
        self.title = title
        self.closed = False
        self.dashboard = None

    def new_figure(self):
        """The figure for the dashboard, in the dashboard's style."""
        matplotlib.style.use(STYLE_FILE)  # the look, and the keys the dashboard takes over
        return new_agg_figure()

    def attach(self, dashboard):
        self.dashboard = dashboard

    def frame(self, force=False):
        """An update point: a live renderer shows the new data."""

    def tick(self):
        """Between two training chunks: events, pause. False once the window is closed."""
        return not self.closed

    def paused(self):
        return False

    def gone(self):
        return self.closed

    def wait_for_events(self, seconds):
        time.sleep(seconds)

    def wait_until_closed(self):
        """At the end of a completed run: a window stays until the user closes it."""

    def close(self):
        """The end, whatever ended the run."""
        self.closed = True


class LiveRenderer(Renderer):
    """Shows frames while training: every update (the default), or within a time budget
    (`every_update=False`: --fast). Space pauses: `tick()` then waits, handling events, until
    Space again, the window closes or a signal comes. Subclasses say how to show a frame
    (`present(changed)`) and how to handle events (`handle_events()`, `wait_for_events(s)`)."""

    live = True
    on_screen = True

    def __init__(self, title="", every_update=True):
        super().__init__(title)
        self.every_update = every_update
        self.frame_times = []  # seconds, of every frame drawn
        self.frame_cpu_times = []  # and this thread's CPU seconds in it (training runs beside)
        self.updates_due = 0  # update points seen
        self.updates_drawn = 0  # of them, drawn in a frame of their own
        self._average = 0.03  # running average of the frames' durations, for the budget
        self._next_draw = 0.0
        self._pending = False
        self.reported = False

    def frame(self, force=False):
        self.updates_due += not force
        self._pending = True
        if force or self.every_update or time.perf_counter() >= self._next_draw:
            self.updates_drawn += not force
            self._draw()

    def attach(self, dashboard):
        super().attach(dashboard)
        dashboard.canvas.mpl_connect("close_event", self._on_close)

    def _on_close(self, event):
        self.closed = True

    def tick(self):
        self.handle_events()
        if self.dashboard.paused and not self.gone():
            self.frame(force=True)  # show the pause flag now
            while self.dashboard.paused and not self.gone() and not held_signals.received:
                self.wait_for_events(0.05)
            self.dashboard.set_state()  # the status line without the flag, at the next frame
        if self._pending and not self.every_update and time.perf_counter() >= self._next_draw:
            self._draw()
        return not self.gone()

    def gone(self):
        """Whether the window was closed."""
        return self.closed

    def paused(self):
        """Whether Space paused the run (training waits for Space again)."""
        return self.dashboard.paused

    def handle_events(self):
        """Let the window handle what happened (keys, mouse, resizing)."""

    def wait_for_events(self, seconds):
        """Wait a little, handling the window's events."""
        time.sleep(seconds)

    def _draw(self):
        started, cpu_started = time.perf_counter(), time.thread_time()
        self.present(self.dashboard.refresh())
        ended = time.perf_counter()
        self._pending = False
        self.frame_times.append(ended - started)
        self.frame_cpu_times.append(time.thread_time() - cpu_started)
        # --fast: one slow frame (the first: fonts to load; a full redraw) does not freeze the
        # window for long, and the average keeps drawing within the budget
        self._average = (self._average + self.frame_times[-1]) / 2
        self._next_draw = ended + DRAW_BUDGET * self._average

    def present(self, changed):
        raise NotImplementedError

    def close(self):
        if not self.reported and os.environ.get("TFVISU_FRAME_REPORT", "") not in ("", "0"):
            self.print_report()
        super().close()

    def print_report(self):
        """One line on stderr: what drawing cost (bench/overhead.py reads it)."""
        r = self.report()
        blitter = getattr(self, "blitter", None)
        full = f" ({blitter.full_draws} full draws)" if blitter is not None else ""
        self.reported = True
        print(f"dashboard: {r['frames']} frames{full} in {r['seconds']:.2f}s, median "
              f"{r['median_ms']:.1f} ms, 95th percentile {r['p95_ms']:.1f} ms, updates drawn "
              f"{r['updates_drawn']}/{r['updates_due']}, CPU median {r['cpu_median_ms']:.1f} ms"
              + (f", {r['bytes'] / 1e6:.1f} MB sent" if "bytes" in r else ""),
              file=sys.stderr, flush=True)

    def report(self):
        """The frames drawn: how many, how long, how many of the updates had one."""
        times = sorted(self.frame_times) or [0.0]
        return dict(frames=len(self.frame_times), seconds=sum(self.frame_times),
                    median_ms=1000 * statistics.median(times),
                    cpu_median_ms=1000 * statistics.median(self.frame_cpu_times or [0.0]),
                    p95_ms=1000 * times[min(len(times) - 1, int(0.95 * len(times)))],
                    updates_drawn=self.updates_drawn, updates_due=self.updates_due)


class AggLiveRenderer(LiveRenderer):
    """Live frames drawn offscreen, by blitting as in a window, without a window: what the live
    dashboard costs training, measured without a screen (bench/overhead.py)."""

    on_screen = False  # measured, not seen: the run reports in text lines

    def attach(self, dashboard):
        super().attach(dashboard)
        from .blitting import BlitManager
        self.blitter = BlitManager(dashboard.canvas, dashboard.groups, dashboard.regions,
                                   dashboard.cached, dashboard.background_key)
        dashboard.drawing_context = self.blitter.everything_drawn
        dashboard.request_frame = self.present
        dashboard.canvas.draw()

    def present(self, changed):
        self.blitter.update(changed)

    def close(self):
        if not self.reported:
            self.print_report()
        self.closed = True
