"""Blitting: redraw only what changed, in the shape of matplotlib's blitting guide.

The figure is drawn in full once (and again after a resize, a zoom or a layout change): the
"animated" artists are left out of that drawing, which is saved as the background
(`canvas.copy_from_bbox`). A frame then restores the background (`canvas.restore_region`) in
the regions that changed, draws their animated artists over it (`Figure.draw_artist`) and
copies just those regions to the screen (`canvas.blit`).

Three additions to the guide's BlitManager:
- groups: artists are redrawn by group (a panel, the status line), each in a region of the
  figure (`regions()`: its panel with its labels, or a strip across the figure), and only the
  regions of the groups that changed are copied to the screen;
- cached artists: slow ones (a y axis with its tick labels, a legend, a text) are drawn
  once, kept as pixels and pasted back when their key (their limits, their text and place) is
  one seen lately: a y axis with its panel's background (what comes after it is drawn over it),
  anything else as its own box. A key of None: drawn, not kept;
- only the pixels that changed go to the screen: each region is compared with what was last
  shown there, and the box around the differences is blitted (a curve one point longer
  changes a thin strip of its panel). Copying pixels to a Tk window and showing them costs
  about as much as drawing them; reading the canvas's pixels (`buffer_rgba`), ~0.1 ms a panel.

A canvas that cannot blit (`canvas.supports_blit` is false) gets a plain `draw_idle()`, with
every artist drawn as usual.
"""

import contextlib
from collections import OrderedDict

import matplotlib
import numpy as np
from matplotlib.axis import Axis
from matplotlib.text import Text
from matplotlib.transforms import Bbox

KEPT_PER_ARTIST = 16  # the pixels of a cached artist's last keys (a count of errors comes back)


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
        self._pixels = {}  # cached artist -> {key: its saved pixels}, the latest last
        self._shown = {}  # region's name -> its pixels as last shown on the screen
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
        self._shown.clear()
        self._changed(list(self._regions))  # what the screen shows after this full drawing

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
        self._show(self._changed(names))

    def _changed(self, names):
        """The box around the pixels of each region named that differ from what the screen
        shows there (all of it, the first time); and the screen's picture, updated. Canvases
        whose pixels cannot be read: the whole regions."""
        try:
            pixels = np.asarray(self.canvas.buffer_rgba())
        except (AttributeError, TypeError):
            return [self._regions[name] for name in names]
        height = pixels.shape[0]
        boxes = []
        for name in names:
            x0, y0, x1, y1 = (int(v) for v in self._regions[name].extents)
            top = height - y1
            now = pixels[top:height - y0, x0:x1]
            shown = self._shown.get(name)
            if shown is None or shown.shape != now.shape:
                self._shown[name] = now.copy()
                boxes.append(self._regions[name])
                continue
            differs = (now.view(np.uint32) != shown.view(np.uint32))[..., 0]
            rows = np.flatnonzero(differs.any(axis=1))
            if not len(rows):
                continue
            columns = np.flatnonzero(differs[rows[0]:rows[-1] + 1].any(axis=0))
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
            shown[r0:r1, c0:c1] = now[r0:r1, c0:c1]
            boxes.append(Bbox.from_extents(x0 + c0, height - top - r1, x0 + c1, height - top - r0))
        return boxes

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
            empty = isinstance(artist, Text) and not artist.get_text()  # a line's spare cells
            if not artist.get_visible() or hidden_panel or empty:
                continue
            key_of = self._cached.get(artist)
            if key_of is None:
                self.figure.draw_artist(artist)
                continue
            key = key_of()
            kept = self._pixels.setdefault(artist, OrderedDict())
            if key in kept:
                kept.move_to_end(key)
                self.canvas.restore_region(kept[key])
                continue
            self.figure.draw_artist(artist)
            if key is None:
                continue
            if isinstance(artist, Axis):
                box = Bbox.union([artist.axes.bbox, artist.get_tightbbox(renderer)]).padded(1)
            elif isinstance(artist, Text):  # no margin: it would paste over its neighbours
                box = _pixel_bounds(artist.get_window_extent(renderer), self.figure.bbox, 0)
            else:  # a margin for the antialiased edges (a legend's frame)
                box = artist.get_window_extent(renderer).padded(1)
            kept[key] = self.canvas.copy_from_bbox(box)
            if len(kept) > KEPT_PER_ARTIST:
                kept.popitem(last=False)

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


def text_key(text):
    """The key of a text's pixels: what it says, in which colour, where."""
    if not text.get_text():
        return None  # nothing drawn: nothing to keep
    box = text.get_window_extent()
    return (text.get_text(), text.get_color(), text.get_fontproperties(),
            tuple(round(v, 1) for v in box.bounds))


def _pixel_bounds(box, figure_box, margin=1):
    """A region rounded out to whole pixels (and a margin), inside the figure."""
    x0, y0 = max(int(box.x0) - margin, 0), max(int(box.y0) - margin, 0)
    x1 = min(int(box.x1) + 1 + margin, int(figure_box.x1))
    y1 = min(int(box.y1) + 1 + margin, int(figure_box.y1))
    return Bbox.from_extents(x0, y0, max(x1, x0), max(y1, y0))
