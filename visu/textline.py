"""A line of text in pieces, so that a frame redraws only the characters that changed.

matplotlib draws a text in ~0.5 ms, and ~0.9 ms for a text it has not drawn before: a status
line of 110 characters redrawn every frame costs ~6 ms. A `TextLine` is that line split into
cells, each its own `Text` artist, placed side by side and right-aligned as one line: a word
piece is one cell, and a number is a cell per character. A blitting renderer keeps the
cells whose text and place did not change as pixels (`key()`, for blitting's cached
artists): the words stay, and of "iteration 1,020" becoming "iteration 1,040" only the "2"
becomes a "4", a character it has drawn there before (each place sees at most ten digits), so
a frame pastes pixels instead of drawing text. Each cell is placed by its advance, as in a
line drawn at once; numbers padded with figure spaces (as wide as a digit) keep their width,
so the line does not jitter. The cells are placed whenever their texts change, and again when
a drawing has another size or dpi (a saved image, a resized window).
"""

from matplotlib.text import Text
from matplotlib.transforms import Bbox

NUMBER_CHARACTERS = frozenset("0123456789.,:%+-\u2212\u2007")  # \u2007: the figure space
_EDGE = "|"  # measured around a text: its advance and where its ink starts (see _metrics)


class _Cell(Text):
    """One cell: placed with the line's other cells before it is drawn."""

    def __init__(self, line, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line

    def draw(self, renderer):
        self.line.place(renderer)
        super().draw(renderer)

    def get_window_extent(self, renderer=None, dpi=None):
        self.line.place(renderer)
        return super().get_window_extent(renderer, dpi)


class TextLine:
    """A line of up to `cells` cells on `figure`, its right end at (x, y) in figure
    coordinates, vertically centred there; text_props: the cells' font, colour, ..."""

    def __init__(self, figure, x, y, cells=48, **text_props):
        self.figure = figure
        self.x = x
        self.artists = [figure.add_artist(_Cell(self, x, y, "", ha="left", va="center",
                                                transform=figure.transFigure, **text_props))
                        for _ in range(cells)]
        self._ruler = Text(0, 0, "", figure=figure, **text_props)  # measures, never drawn
        self._texts = [""] * cells  # each cell's text, spaces included (drawn: without)
        self._placed = None  # what the cells were placed for: their texts, the figure's size
        self._metrics = {}  # (text, dpi) -> (advance, ink offset) in pixels: ~0.3 ms to measure

    def set_pieces(self, texts):
        """The line's pieces, left to right: what changes at its own pace in a piece of its own
        (the words that stay, each number). Spaces belong to the pieces: they have widths. A
        piece of digits and signs (NUMBER_CHARACTERS) is a number: a cell per character."""
        cells = []
        for text in texts:
            cells.extend(text if set(text) <= NUMBER_CHARACTERS else [text])
        extra = len(cells) - len(self.artists)
        if extra > 0:  # more cells than artists: the last ones share the last artist
            cells[-extra - 1:] = ["".join(cells[-extra - 1:])]
        self._texts = [""] * (len(self.artists) - len(cells)) + cells  # unused ones: left, empty
        for artist, text in zip(self.artists, self._texts):
            artist.set_text("" if text.isspace() else text)  # a space: nothing to draw
        self.place()

    def get_text(self):
        return "".join(self._texts)

    def place(self, renderer=None):
        """Put each cell after the one before it, the line's right end at x (in pixels: the
        advances depend on the drawing's dpi)."""
        box = self.figure.bbox
        key = tuple(self._texts), box.width, box.height, self.figure.dpi
        if key == self._placed:
            return
        metrics = [self._measure(text, renderer) for text in self._texts]
        pen = self.x * box.width - sum(advance for advance, _ in metrics)
        for artist, (advance, ink) in zip(self.artists, metrics):
            artist.set_x((pen + ink) / box.width)  # (matplotlib draws a text from its ink)
            pen += advance
        self._placed = key

    def _measure(self, text, renderer):
        """A text's advance (how far it moves the next character) and where its ink starts,
        in pixels: what it adds to a line, measured between two edges (matplotlib measures a
        text's ink, which leaves out the spaces around it). Zeros for no text."""
        if not text:
            return 0.0, 0.0
        key = text, self.figure.dpi
        if key not in self._metrics:
            if len(self._metrics) > 1000:
                self._metrics.clear()
            width = self._width
            edge, edges = width(_EDGE, renderer), width(_EDGE + _EDGE, renderer)
            advance = width(_EDGE + text + _EDGE, renderer) - edges
            # where the ink starts after the pen, less the edge's own offset (every cell has
            # it: it moves the whole line by a pixel)
            ink = 0.0 if text.isspace() else (width(_EDGE + text, renderer) - width(text, renderer)
                                              - (edges - edge))
            self._metrics[key] = advance, ink
        return self._metrics[key]

    def _width(self, text, renderer):
        self._ruler.set_text(text)
        return self._ruler.get_window_extent(renderer).width

    def key(self, artist):
        """What a cell's pixels depend on (for blitting's cached artists): its text and its
        place; None for an empty cell (nothing to keep)."""
        self.place()
        text = artist.get_text()
        return (text, artist.get_position(), self.figure.dpi,
                tuple(self.figure.bbox.bounds)) if text else None

    def get_window_extent(self, renderer=None):
        """Where the whole line draws, in display pixels."""
        boxes = [a.get_window_extent(renderer) for a in self.artists if a.get_text()]
        return Bbox.union(boxes) if boxes else self.artists[-1].get_window_extent(renderer)
