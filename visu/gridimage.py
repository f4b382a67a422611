"""An image of digits made at the resolution its panel shows it: the training and test grids.

matplotlib resamples every pixel of an image each time it draws it, in floating point, with
masked arrays: the training digits (478 x 298 pixels) cost ~4 ms a frame at 1366x768, and the
1,000 test digits (1120 x 700) ~25 ms. Two savings, both where the picture is drawn in pixels
(a window, a notebook, a PNG), not in a PDF or SVG, which keeps every pixel to be zoomed into:
- the picture is made at half size (each digit the mean of its 2 x 2 pixels) wherever that
  still has at least as many pixels as the screen shows: the test digits in the six panels;
- the picture is resampled by Pillow, in C on its 8-bit pixels, to exactly the pixels it
  covers on the screen, and kept until it or its place changes: ~1.5 ms for the training
  digits. Its Hamming filter is the nearest to matplotlib's default (Hanning) for shrinking:
  the digits look the same. A picture partly outside its panel (zoomed into with the
  toolbar) is left to matplotlib.
"""

import math

import matplotlib
import numpy as np
from matplotlib.image import AxesImage
from PIL import Image


class GridImage(AxesImage):
    """An `AxesImage` of a picture made on demand by `make(reduce)`: an RGBA uint8 array of
    `full_shape` (height, width) pixels for reduce 1, half that for reduce 2 (where `halves`).
    Its extent, in data coordinates, is that of the full picture, whatever the resolution."""

    def __init__(self, ax, make, full_shape, halves=True, **kwargs):
        height, width = full_shape
        super().__init__(ax, extent=(0, width, height, 0), **kwargs)
        self.full_shape = full_shape
        self.halves = halves
        self._make, self._reduce = make, None
        self._shown = None  # (picture, its place on the screen, its pixels there)
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
        if not self.halves or renderer.option_scale_image():
            return 1
        shown = self.get_window_extent(renderer)
        height, width = self.full_shape
        return 2 if shown.height <= height / 2 and shown.width <= width / 2 else 1

    def draw(self, renderer):
        reduce = self.reduce_for(renderer)
        if reduce != self._reduce:
            self._set(self._make(reduce), reduce)
        super().draw(renderer)

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        """The pixels to draw and where (matplotlib's `AxesImage.make_image`): resampled by
        Pillow where the whole picture is shown on a raster canvas, else by matplotlib."""
        place = self._place(renderer, magnification, unsampled)
        if place is None:
            return super().make_image(renderer, magnification, unsampled)
        x, y, width, height = place
        picture = self.get_array()
        if self._shown is None or self._shown[0] is not picture or self._shown[1] != place:
            # (bottom row first, as matplotlib hands images to the renderer)
            pixels = resampled(np.asarray(picture), width, height)[::-1]
            self._shown = picture, place, np.ascontiguousarray(pixels)
        return self._shown[2], x, y, None

    def _place(self, renderer, magnification, unsampled):
        """(x, y, width, height) in screen pixels where matplotlib would draw the whole
        picture, upright; None where it is not so simple (a vector file, a magnified drawing,
        a picture clipped by its panel, flipped, transparent)."""
        if (unsampled or magnification != 1 or renderer.option_scale_image()
                or self.origin != "upper" or self.get_alpha() is not None
                or self.get_array().ndim != 3 or not self.get_transform().is_affine):
            return None
        left, right, bottom, top = self.get_extent()
        (x0, y_top), (x1, y_bottom) = self.get_transform().transform([(left, top), (right, bottom)])
        if not (x0 < x1 and y_bottom < y_top):  # flipped
            return None
        clip = (self.get_clip_box() or self.axes.bbox) if self.get_clip_on() else self.figure.bbox
        if (x0 < clip.xmin - 0.5 or x1 > clip.xmax + 0.5 or y_bottom < clip.ymin - 0.5
                or y_top > clip.ymax + 0.5):
            return None  # partly outside: matplotlib clips it
        # the picture's box rounded to the nearest pixel borders, as matplotlib rounds it
        left, right = math.floor(x0 + 0.5), math.floor(x1 + 0.5 + 1e-8)
        bottom, top = math.ceil(y_bottom - 0.5 - 1e-8), math.ceil(y_top - 0.5)
        if right <= left or top <= bottom:
            return None
        return left, bottom, right - left, top - bottom

    def _set(self, picture, reduce):
        # new pixels without marking the figure stale: they are being drawn now, and a stale
        # figure in an interactive window would be drawn all over again
        callback, self.stale_callback = self.stale_callback, None
        try:
            self.set_data(picture)
        finally:
            self.stale_callback = callback
        self._reduce = reduce


def resampled(rgba, width, height):
    """An RGBA uint8 picture resampled to width x height pixels by Pillow (its Hamming
    filter; an opaque picture without its alpha channel, which is faster)."""
    rgba = np.ascontiguousarray(rgba, np.uint8)
    mode = "RGBX" if (rgba[..., 3] == 255).all() else "RGBA"
    picture = Image.frombuffer(mode, rgba.shape[1::-1], rgba, "raw", mode, 0, 1)
    pixels = np.asarray(picture.resize((width, height), Image.Resampling.HAMMING))
    if mode == "RGBX":
        pixels = pixels.copy()
        pixels[..., 3] = 255
    return pixels
