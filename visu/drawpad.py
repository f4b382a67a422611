"""The drawing pad (key D, once the run is paused or done): the training-images panel becomes a
28x28 pad to draw on with the mouse, and the network's 10 probabilities show beside it as bars,
updated as you draw. C clears the pad; D again gives the panel back.

What the network sees is the drawing made like its training images (predict.like_training_images,
as --predict does): you can draw big or small, anywhere on the pad.
"""

import numpy as np
from matplotlib.patches import Rectangle

from .predict import like_training_images

BRUSH = 0.85  # the brush's spread (a Gaussian's sigma), in pad pixels: strokes 2-3 pixels wide,
# with soft edges, like MNIST's


class DrawPad:
    """Artists on the training-images panel, hidden until D. `predict(image[28, 28]) ->
    probabilities[10]` is the runner's; `changed()` asks the renderer for a frame."""

    def __init__(self, ax, size, classes, color):
        self.ax = ax
        self.size = size  # the pad's side, in the panel's data units (its height)
        self.classes = classes
        self.active = False
        self.predict = None
        self.changed = lambda: None
        self.ink = np.zeros((28, 28))
        self._pressed = False  # the left button is down
        self._last = None  # the last point of the stroke being drawn
        limits = ax.get_xlim(), ax.get_ylim()  # the training images', which imshow would reset
        self.image = ax.imshow(self._rgba(), extent=(0, size, size, 0), visible=False, zorder=3)
        ax.set(xlim=limits[0], ylim=limits[1])
        self.frame = ax.add_patch(Rectangle((0, 0), size, size, fill=False, edgecolor="0.55",
                                            linewidth=1.5, visible=False, zorder=4))
        self.bars_ax = ax.inset_axes([0.68, 0.06, 0.3, 0.88], zorder=3)
        self.bars = self.bars_ax.barh(np.arange(10), np.zeros(10), color=color)
        self.bars_ax.set(xlim=(0, 1), ylim=(9.6, -0.6), yticks=np.arange(10), xticks=[0, 0.5, 1])
        self.bars_ax.set_yticklabels([c[:9] for c in classes], fontsize="small")
        self.bars_ax.tick_params(labelsize="small")
        self.bars_ax.set_title("the network says", fontsize="small")
        self.bars_ax.set_visible(False)
        canvas = ax.figure.canvas
        canvas.mpl_connect("button_press_event", self._on_press)
        canvas.mpl_connect("motion_notify_event", self._on_move)
        canvas.mpl_connect("button_release_event", self._on_release)

    @property
    def artists(self):
        return [self.image, self.frame, self.bars_ax]

    def toggle(self):
        self.active = not self.active
        for artist in self.artists:
            artist.set_visible(self.active)
        self._show()

    def clear(self):
        self.ink[:] = 0
        self._show()

    def stroke(self, x, y):
        """Ink along the line from the last point to (x, y), in the panel's data units."""
        point = np.array([x, y]) * 28 / self.size - 0.5  # pad pixel coordinates
        start = point if self._last is None else self._last
        steps = max(1, int(np.ceil(np.hypot(*(point - start)) * 4)))
        rows, cols = np.mgrid[0:28, 0:28]
        for t in np.linspace(0, 1, steps + 1):
            cx, cy = start + t * (point - start)
            blob = np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * BRUSH ** 2))
            self.ink = np.maximum(self.ink, blob)
        self._last = point
        self._show()

    def probabilities(self):
        """What the network makes of the drawing (zeros before anything is drawn)."""
        if self.predict is None or not self.ink.any():
            return np.zeros(10)
        image = like_training_images(self.ink, self.classes)
        return np.asarray(self.predict(image), np.float64)

    def _show(self):
        self.image.set_data(self._rgba())
        for bar, p in zip(self.bars, self.probabilities()):
            bar.set_width(p)
        self.changed()

    def _rgba(self):
        grey = np.round(255 * (1 - self.ink)).astype(np.uint8)
        return np.dstack([grey, grey, grey, np.full_like(grey, 255)])

    # -- the mouse -----------------------------------------------------------------------------
    def _inside(self, event):
        return (self.active and event.inaxes is self.ax and event.xdata is not None
                and 0 <= event.xdata <= self.size and 0 <= event.ydata <= self.size
                and not getattr(getattr(self.ax.figure.canvas, "toolbar", None), "mode", ""))

    def _on_press(self, event):
        if event.button == 1 and self.active:
            self._pressed, self._last = True, None
            self._on_move(event)

    def _on_move(self, event):
        """Ink while the button is down and the pointer on the pad (a stroke may start outside)."""
        if self._pressed and self._inside(event):
            self.stroke(event.xdata, event.ydata)
        elif self._last is not None:
            self._last = None  # off the pad: the next stroke starts afresh

    def _on_release(self, event):
        self._pressed, self._last = False, None
