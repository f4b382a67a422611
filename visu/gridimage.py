"""An image that is made at the resolution its panel shows it: the 1,000 test digits.

The test digits' grid is 1120 x 700 pixels, and its panel shows it 2-3 times smaller in a
window or a notebook. matplotlib resamples every pixel of an image each time it draws it (the
test panel: ~25 ms at 1366x768, a third of a frame); a grid made at half size, each digit the
mean of its 2 x 2 pixels, draws in ~8 ms and looks the same there. `GridImage` makes its
picture when it is drawn, at full size or at half size: half wherever that still has at least
as many pixels as the screen shows (a zoomed panel, a big saved image get the full one).
"""

import matplotlib
from matplotlib.image import AxesImage


class GridImage(AxesImage):
    """An `AxesImage` of a picture made on demand by `make(reduce)`: an RGBA array of
    `full_shape` (height, width) pixels for reduce 1, half that for reduce 2. Its extent, in
    data coordinates, is that of the full picture, whatever the resolution drawn."""

    def __init__(self, ax, make, full_shape, **kwargs):
        height, width = full_shape
        super().__init__(ax, extent=(0, width, height, 0), **kwargs)
        self.full_shape = full_shape
        self._make, self._reduce = make, None
        self._set(make(1), 1)
        # what Axes.imshow does with the AxesImage it makes
        ax.set_aspect(matplotlib.rcParams["image.aspect"])
        self.set_clip_path(ax.patch)
        self.set_extent(self.get_extent())  # the axes' limits fit the picture
        ax.add_image(self)

    def set_maker(self, make):
        """A new picture, made when next drawn."""
        self._make, self._reduce = make, None
        self.stale = True

    def picture(self, reduce=1):
        """The picture at 1/reduce of its full size."""
        return self._make(reduce)

    def reduce_for(self, renderer):
        """2 if the screen shows the picture at half its size or less, else 1 (and always 1 in
        a vector file, PDF or SVG, where the picture keeps its pixels to be zoomed into)."""
        if renderer.option_scale_image():
            return 1
        shown = self.get_window_extent(renderer)
        height, width = self.full_shape
        return 2 if shown.height <= height / 2 and shown.width <= width / 2 else 1

    def draw(self, renderer):
        reduce = self.reduce_for(renderer)
        if reduce != self._reduce:
            self._set(self._make(reduce), reduce)
        super().draw(renderer)

    def _set(self, picture, reduce):
        # new pixels without marking the figure stale: they are being drawn now, and a stale
        # figure in an interactive window would be drawn all over again
        callback, self.stale_callback = self.stale_callback, None
        try:
            self.set_data(picture)
        finally:
            self.stale_callback = callback
        self._reduce = reduce
