"""Blitting: redraw only what changed, in the shape of matplotlib's blitting guide.

The figure is drawn in full once (and again after a resize, a zoom or a layout change): the
"animated" artists are left out of that drawing, which is saved as the background
(`canvas.copy_from_bbox`). A frame then restores the background (`canvas.restore_region`) in
the regions that changed, draws their animated artists over it (`Figure.draw_artist`) and
copies just those regions to the screen (`canvas.blit`).

Two additions to the guide's BlitManager:
- groups: artists are redrawn by group (a panel, the status line), each in a region of the
  figure, and only the regions of the groups that changed are copied to the screen;
- cached artists: slow ones (a y axis with its tick labels, a legend) are drawn once, kept as
  pixels and pasted back while their key (their limits, say) is unchanged: a y axis with its
  panel's background (what comes after it is drawn over it), anything else as its own box.

A canvas that cannot blit (`canvas.supports_blit` is false) gets a plain `draw_idle()`, with
every artist drawn as usual.
"""

import contextlib

from matplotlib.axis import Axis
from matplotlib.transforms import Bbox


class BlitManager:
    """groups: {name: [artists]}, each group drawn in order, over the background.
    regions(renderer): {name: Bbox} in display pixels, where each group draws (asked after each
    full draw). cached: {artist: key function}. background_key(): what the background depends
    on beyond the canvas's size (the layout, the axes' limits): a change makes the next frame a
    full draw."""

    def __init__(self, canvas, groups, regions, cached=None, background_key=None):
        self.canvas = canvas
        self.figure = canvas.figure
        self.groups = groups
        self.blits = bool(getattr(canvas, "supports_blit", False))
        self._regions_of = regions
        self._cached = cached or {}
        self._background_key = background_key or (lambda: None)
        self._backgrounds = None  # group -> the background of its region
        self._key = None
        self._regions = {}
        self._pixels = {}  # cached artist -> (key, its saved pixels)
        self._everything_drawn = False
        self.full_draws = 0
        self._set_animated(self.blits)
        canvas.mpl_connect("draw_event", self._on_draw)

    def artists(self, names=None):
        return [a for name in (names or self.groups) for a in self.groups[name]]

    def _set_animated(self, animated):
        for artist in self.artists():
            artist.set_animated(animated)

    def _on_draw(self, event):
        """After every full draw (ours, a resize, a zoom): save the background, draw the rest."""
        if not self.blits or self.canvas.is_saving() or self._everything_drawn:
            return  # (a drawing with the animated artists in it is no background)
        self.full_draws += 1
        self._key = self._full_key()
        renderer = self.canvas.get_renderer()
        self._regions = {name: _pixel_bounds(box, self.figure.bbox)
                         for name, box in self._regions_of(renderer).items()}
        self._backgrounds = {name: self.canvas.copy_from_bbox(box)
                             for name, box in self._regions.items()}
        self._pixels.clear()
        self._draw(list(self.groups))

    def _full_key(self):
        return tuple(self.figure.bbox.bounds), self._background_key()

    def update(self, names=None):
        """Redraw the groups named (all by default) and show them."""
        if not self.blits:
            self.canvas.draw_idle()
            return
        if self._backgrounds is None or self._key != self._full_key():
            self.canvas.draw()  # _on_draw saves the new background and draws the groups over it
            return
        names = self._with_overlapping([n for n in (names or self.groups) if n in self._regions])
        for name in names:
            self.canvas.restore_region(self._backgrounds[name])
        self._draw(names)
        for name in names:
            self.canvas.blit(self._regions[name])

    def _with_overlapping(self, names):
        """The groups named and those whose regions overlap theirs: restoring a region's
        background erases whatever another group drew there."""
        todo, found = list(names), set(names)
        while todo:
            box = self._regions[todo.pop()]
            for other, region in self._regions.items():
                if other not in found and box.overlaps(region):
                    found.add(other)
                    todo.append(other)
        return [name for name in self._regions if name in found]

    def _draw(self, names):
        renderer = self.canvas.get_renderer()
        for artist in self.artists(names):
            if not artist.get_visible() or (artist.axes is not None and not artist.axes.get_visible()):
                continue
            key_of = self._cached.get(artist)
            if key_of is None:
                self.figure.draw_artist(artist)
                continue
            key = key_of()
            saved = self._pixels.get(artist)
            if saved is not None and saved[0] == key:
                self.canvas.restore_region(saved[1])
            else:
                self.figure.draw_artist(artist)
                if isinstance(artist, Axis):
                    box = Bbox.union([artist.axes.bbox, artist.get_tightbbox(renderer)])
                else:
                    box = artist.get_window_extent(renderer)
                self._pixels[artist] = (key, self.canvas.copy_from_bbox(box.padded(1)))

    @contextlib.contextmanager
    def everything_drawn(self):
        """For savefig: every artist drawn as usual, the animated ones included."""
        if self.blits:
            self._set_animated(False)
        self._everything_drawn = True
        try:
            yield
        finally:
            self._everything_drawn = False
            if self.blits:
                self._set_animated(True)


def _pixel_bounds(box, figure_box):
    """A region rounded out to whole pixels, inside the figure."""
    x0, y0 = max(int(box.x0) - 1, 0), max(int(box.y0) - 1, 0)
    x1, y1 = min(int(box.x1) + 2, int(figure_box.x1)), min(int(box.y1) + 2, int(figure_box.y1))
    return Bbox.from_extents(x0, y0, max(x1, x0), max(y1, y0))
