"""The dashboard in a notebook (Jupyter, JupyterLab, VS Code, Colab): in the output of the cell
that runs the rung (`%run mnist_1.0_softmax.py`).

- `NotebookRenderer`, with matplotlib's default inline backend: the dashboard is one image in
  the cell's output, replaced in place at every frame (a display handle's `update`: one output
  area, not an image per frame). The frames travel to a browser, often a remote one (Colab):
  each is drawn offscreen at 1120x630 and sent as a PNG in 256 colours (~65 KB: a full run of
  rung 1.0, 210 frames, streams ~13 MB). It stays as the cell's output at the end.
- `WidgetRenderer`, after `%matplotlib widget` (ipympl): the dashboard is an interactive canvas;
  frames are blitted and pushed to it. Its keys (1-9, 0, O, H) and the mouse work on it, once
  the cell is done: while the cell trains, the kernel, busy, holds the events back. The
  notebook's Stop button (interrupt the kernel) ends the run as Ctrl-C does.
- Spyder's console shows images but cannot replace them in place: the run is in text there,
  and the final dashboard is shown once, at the end (`live=False`).
"""

import io
import time

import matplotlib
import matplotlib.style

from .blitting import BlitManager
from .dashboard import STYLE_FILE
from .renderers import LiveRenderer, new_agg_figure
from .window import WindowRenderer

FRAME_DPI = 70  # 16x9 inches -> 1120x630 pixels
FRAME_COLOURS = 256


def is_widget_backend():
    """Whether matplotlib draws into ipympl's widget canvas (%matplotlib widget / ipympl)."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


def png_frame(canvas, colours=FRAME_COLOURS):
    """The canvas as a PNG in a palette of `colours` (the dashboard's few colours and their
    anti-aliasing fit in 256): a third of a full-colour PNG, and as sharp."""
    from PIL import Image
    rgba = canvas.buffer_rgba()
    image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1)
    paletted = image.convert("RGB").quantize(colours, method=Image.Quantize.FASTOCTREE,
                                             dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    paletted.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


class NotebookRenderer(LiveRenderer):
    """The dashboard as one image in the cell's output, replaced at every frame; live=False:
    shown once, at the end."""

    def __init__(self, title="", every_update=True, live=True):
        super().__init__(title, every_update)
        self.live = live
        self.bytes_sent = 0  # of all the frames, for the report
        self.handle = None

    def new_figure(self):
        matplotlib.style.use(STYLE_FILE)
        figure = new_agg_figure()
        figure.set_dpi(FRAME_DPI)
        return figure

    def attach(self, dashboard):
        super().attach(dashboard)
        self.blitter = BlitManager(dashboard.canvas, dashboard.groups, dashboard.regions,
                                   dashboard.cached, dashboard.background_key)
        dashboard.drawing_context = self.blitter.everything_drawn
        dashboard.keys_text.set_visible(False)  # an image: no keys
        if self.live:
            dashboard.canvas.draw()
            self._show()

    def present(self, changed):
        self.blitter.update(changed)
        self._show()

    def _show(self):
        from IPython.display import Image, display
        image = Image(data=png_frame(self.dashboard.canvas), format="png")
        self.bytes_sent += len(image.data)
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)

    def wait_until_closed(self):
        """The end of the run: the last frame stays as the cell's output."""
        if not self.live:
            self.dashboard.refresh()
            with self.dashboard.drawing_context():
                self.dashboard.canvas.draw()
            self._show()

    def report(self):
        return dict(super().report(), bytes=self.bytes_sent)


class WidgetRenderer(WindowRenderer):
    """The dashboard as ipympl's interactive canvas in the cell's output."""

    def new_figure(self):
        import matplotlib.pyplot as plt
        matplotlib.style.use(STYLE_FILE)
        with plt.ioff():  # shown once, by attach(), not again at the end of the cell
            figure = plt.figure(num=self.title)
        self.manager = figure.canvas.manager
        return figure

    def wait_for_events(self, seconds):
        time.sleep(seconds)  # the busy kernel handles no event: nothing to wait for

    def wait_until_closed(self):
        """The end of the run: the canvas stays in the cell's output, interactive."""
        self.frame(force=True)

    def close(self):
        self.closed = True  # the figure stays, for the keys and the mouse
