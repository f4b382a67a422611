"""Blitting: redraw only what changed, in the shape of matplotlib's blitting guide.

The figure is drawn in full once (and again after a resize, a zoom or a layout change): the
"animated" artists are left out of that drawing, which is saved as the background
(`canvas.copy_from_bbox`). A frame then restores the background (`canvas.restore_region`) in
the regions that changed, draws their animated artists over it (`Figure.draw_artist`) and
copies just those regions to the screen (`canvas.blit`).

Two additions to the guide's BlitManager:
- groups: artists are redrawn by group (a panel, the status line), each in a region of the
  figure (`regions()`: its panel with its labels, or a strip across the figure), and only the
  regions of the groups that changed are copied to the screen;
- cached artists: slow ones (a y axis with its tick labels, a legend) are drawn once, kept as
  pixels and pasted back while their key (their limits, say) is unchanged: a y axis with its
  panel's background (what comes after it is drawn over it), anything else as its own box.

A canvas that cannot blit (`canvas.supports_blit` is false) gets a plain `draw_idle()`, with
every artist drawn as usual.
"""

import contextlib

import matplotlib
from matplotlib.axis import Axis
from matplotlib.transforms import Bbox


class BlitManager:
    """groups: {name: [artists]}, each group drawn in order, over the background.
    regions(renderer): {name: Bbox} in display pixels, where each group draws (asked after each
    full draw). cached: {artist: key function}. background_key(): what the background depends
    on beyond the canvas's size (the layout, the axes' limits): a change makes the next frame a
    full draw. show(boxes): puts the regions redrawn on screen; given, the canvas is blitted
    even if it says it cannot (ipympl's: its blit() sends the changed pixels as one image);
    by default, canvas.blit of each region, where canvas.supports_blit."""

    def __init__(self, canvas, groups, regions, cached=None, background_key=None, show=None):
        self.canvas = canvas
        self.figure = canvas.figure
        self.groups = groups
        self.blits = show is not None or bool(getattr(canvas, "supports_blit", False))
        self._show = show or (lambda boxes: [canvas.blit(box) for box in boxes])
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
        self._show([self._regions[name] for name in names])

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
            hidden_panel = artist.axes is not None and not artist.axes.get_visible()
            if not artist.get_visible() or hidden_panel:
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


def regions(groups, renderer, following=()):
    """Where each group of artists draws, in display pixels: the panel of its first artist with
    what sticks out of it (tick labels, title); for a group of the figure's own texts (a status
    line, whose length changes), a strip across the figure. Groups on hidden panels have none.
    following: the panels whose y limits follow the data: wider tick labels push their y label
    left, out of the panel's box of the last full draw."""
    found = {}
    for name, artists in groups.items():
        first = artists[0]
        ax = first.axes
        if ax is None:
            figure_box, box = first.figure.bbox, first.get_window_extent(renderer)
            found[name] = Bbox.from_extents(figure_box.x0, box.y0 - 4, figure_box.x1, box.y1 + 4)
        elif ax.get_visible():
            box = Bbox.union([ax.bbox, ax.get_tightbbox(renderer)])
            if ax in following:
                box = Bbox.from_extents(box.x0 - 3 * matplotlib.rcParams["ytick.labelsize"],
                                        box.y0, box.x1, box.y1)
            found[name] = box
    return found


def _pixel_bounds(box, figure_box):
    """A region rounded out to whole pixels, inside the figure."""
    x0, y0 = max(int(box.x0) - 1, 0), max(int(box.y0) - 1, 0)
    x1, y1 = min(int(box.x1) + 2, int(figure_box.x1)), min(int(box.y1) + 2, int(figure_box.y1))
    return Bbox.from_extents(x0, y0, max(x1, x0), max(y1, y0))
