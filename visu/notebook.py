"""The dashboard in a notebook (Jupyter, JupyterLab, VS Code, Colab): in the output of the cell
that runs the rung (`%run mnist_1.0_softmax.py`).

- `NotebookRenderer`, with matplotlib's default inline backend: the dashboard is one image in
  the cell's output, replaced in place at every frame (a display handle's `update`: one output
  area, not an image per frame). The frames travel to a browser, often a remote one (Colab):
  each is drawn offscreen at 1120x630 and sent as a PNG in 256 colours, in base64 in the
  message. Measured (bench/notebook.py), a full run of rung 1.0 (2,000 iterations): 203 frames,
  ~65 KB of PNG each (87 KB in base64), 17.6 MB as sent. It stays as the cell's output at the
  end.
- `WidgetRenderer`, after `%matplotlib widget` (ipympl): the dashboard is an interactive canvas
  (1120x630 too), fed while the network trains: each frame is blitted and pushed to it as one
  PNG of the pixels that changed. The same run: 203 frames, median 57 KB (220 KB when the test
  digits change), 17.0 MB in all. Its keys (1-9, 0, A, O, H, D) and the mouse work on it once the
  cell is done: while the cell runs, the busy kernel holds the browser's messages back (see
  the class). The notebook's Stop button (interrupt the kernel) ends the run as Ctrl-C does.
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

    in_kernel = True  # in a notebook's kernel, which outlives the script: see renderers.Renderer

    def __init__(self, title="", every_update=True, live=True):
        super().__init__(title, every_update)
        self.live = live
        self.bytes_sent = 0  # PNG bytes of all the frames, for the report (4/3 of it as sent)
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
    """The dashboard as ipympl's interactive canvas in the cell's output.

    Frames: the groups that changed are blitted into the canvas's pixels, then pushed to the
    widget at once: `canvas.blit()` on ipympl's canvas sends one PNG of the pixels that changed
    since the last image (a "diff" image). Its `draw_idle()` would only ask the browser to ask
    for an image, a request the busy kernel reads once the cell is done.

    Keys and mouse: the browser sends them as the widget's messages, on the kernel's shell
    channel; the kernel reads that channel only between cells (ipykernel 7 reads a comm's
    messages during an async cell's awaits, not during `%run`). So while the network trains they
    wait, and act in order once the cell is done; then the keys (1-9, 0, O, H, A, D) and the
    mouse work on the canvas, redrawn at once. Space (pause) cannot reach a running cell; the
    notebook's Stop button (interrupt the kernel) ends the run as Ctrl-C does.
    """

    in_kernel = True  # as NotebookRenderer's

    def new_figure(self):
        import matplotlib.pyplot as plt
        matplotlib.style.use(STYLE_FILE)
        # shown once, by attach(), not again at the end of the cell; a figure of its own (not
        # num=title: a rung run again would draw into its last run's figure); as wide as the
        # inline image: it fits a notebook's column, and its frames are half the bytes
        with plt.ioff():
            figure = plt.figure(dpi=FRAME_DPI)
        self.manager = figure.canvas.manager
        return figure

    def attach(self, dashboard):
        # not the window's attach: no window to wait for, and one image pushed per frame
        LiveRenderer.attach(self, dashboard)
        self.canvas = dashboard.canvas
        self.blitter = BlitManager(self.canvas, dashboard.groups, dashboard.regions,
                                   dashboard.cached, dashboard.background_key,
                                   show=self._push)
        dashboard.drawing_context = self.blitter.everything_drawn
        dashboard.on_layout_change = self._redraw_now
        dashboard.request_frame = self.present
        self.canvas.mpl_connect("key_press_event", self._on_key)
        # no pause here: Space cannot reach the running cell (see above), nor a finished run
        keys = dashboard.keys_text
        keys.set_text(keys.get_text().replace("   Space pause", ""))
        send_frames_as_png(self.canvas)
        self.manager.set_window_title(self.title)
        self.manager.show()  # the widget, in the cell's output
        self.canvas.draw()  # the empty dashboard, pushed to it

    def present(self, changed):
        """A frame; also after the run (the drawing pad), the canvas staying live."""
        self.blitter.update(changed)

    def _push(self, boxes):
        """The regions just blitted, to the widget: ipympl's `canvas.blit()` sends one PNG of
        all the pixels that changed since its last image, whatever the box (one per region
        would send empty images after the first, and the browser may drop an image that the
        next replaces before it is decoded)."""
        if boxes:
            self.canvas.blit()

    def _redraw_now(self):
        """A key changed the picture (layout, zoom): drawn and pushed now, also after the run,
        whatever pyplot's interactive mode."""
        self.dashboard.refresh()
        self.canvas.draw()

    def handle_events(self):
        """Nothing to handle while the cell runs: the kernel holds the widget's messages."""

    def wait_for_events(self, seconds):
        time.sleep(seconds)

    def wait_until_closed(self):
        """The end of the run: the canvas stays in the cell's output, interactive."""
        self.frame(force=True)

    def close(self):
        LiveRenderer.close(self)  # the frame report; not the window's: the figure stays, live


def send_frames_as_png(canvas):
    """Make ipympl send each frame as a PNG from the start. Until the browser's first message
    ("initialized") is read, ipympl sends a frame as its raw pixels (2.8 MB at 1120x630), which
    the browser cannot show, and keeps a PNG of it in the widget's state (for a notebook run
    without a browser). A busy kernel reads that message only once the cell is done: without
    this, no frame of the run would show. The price: a notebook run without a browser
    (nbconvert --execute) keeps the widget's first picture in its saved state. ipympl
    (0.8-0.10) has no public way to say it; this is its Canvas's `syncing_data_url` attribute.
    Where it is missing (another version), frames go as that version sends them. Returns
    whether it was set."""
    if not hasattr(canvas, "syncing_data_url"):
        return False
    canvas.syncing_data_url = False
    return True
