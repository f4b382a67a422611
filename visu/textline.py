"""A line of text in pieces, so that a frame redraws only the pieces that changed.

matplotlib draws text one glyph at a time (about 50 microseconds a character here), so a status
line of 110 characters redrawn every frame costs ~6 ms. A `TextLine` is that line split into
pieces, each its own `Text` artist, placed side by side and right-aligned as one line: a
blitting renderer keeps the pieces whose text and place did not change as pixels (`key()`, for
blitting's cached artists) and draws only the numbers that changed. The pieces are placed
whenever their texts change, and again when a drawing has another size or dpi (a saved image,
a resized window).
"""

from matplotlib.text import Text
from matplotlib.transforms import Bbox


class _Piece(Text):
    """One piece: placed with the line's other pieces before it is drawn."""

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
    """A line of up to `pieces` pieces on `figure`, its right end at (x, y) in figure
    coordinates, vertically centred there; text_props: the pieces' font, colour, ..."""

    def __init__(self, figure, x, y, pieces=12, **text_props):
        self.figure = figure
        self.x = x
        self.artists = [figure.add_artist(_Piece(self, x, y, "", ha="left", va="center",
                                                 transform=figure.transFigure, **text_props))
                        for _ in range(pieces)]
        self._placed = None  # what the pieces were placed for: their texts, the figure's size
        self._widths = {}  # (text, dpi) -> its width in pixels: measuring a text takes ~0.1 ms

    def set_pieces(self, texts):
        """The line's pieces, left to right: what changes at its own pace in a piece of its own
        (the words that stay, each number). Spaces belong to the pieces: they have widths."""
        texts = list(texts)
        extra = len(texts) - len(self.artists)
        if extra > 0:  # more pieces than artists: the last ones share the last artist
            texts[-extra - 1:] = ["".join(texts[-extra - 1:])]
        texts = [""] * (len(self.artists) - len(texts)) + texts  # the unused ones: left, empty
        for artist, text in zip(self.artists, texts):
            artist.set_text(text)
        self.place()

    def get_text(self):
        return "".join(artist.get_text() for artist in self.artists)

    def place(self, renderer=None):
        """Put each piece against the next one, the last one's right end at x (in pixels: the
        widths depend on the drawing's dpi)."""
        box = self.figure.bbox
        key = tuple(a.get_text() for a in self.artists), box.width, box.height, self.figure.dpi
        if key == self._placed:
            return
        right = self.x * box.width
        for artist in reversed(self.artists):
            right -= self._width(artist, renderer)
            artist.set_x(right / box.width)
        self._placed = key

    def _width(self, artist, renderer):
        text = artist.get_text()
        if not text:
            return 0
        key = text, self.figure.dpi
        if key not in self._widths:
            if len(self._widths) > 1000:
                self._widths.clear()
            self._widths[key] = Text.get_window_extent(artist, renderer).width
        return self._widths[key]

    def key(self, artist):
        """What a piece's pixels depend on (for blitting's cached artists): its text and its
        place; None for an empty piece (nothing to keep)."""
        self.place()
        text = artist.get_text()
        return (text, artist.get_position(), self.figure.dpi,
                tuple(self.figure.bbox.bounds)) if text else None

    def get_window_extent(self, renderer=None):
        """Where the whole line draws, in display pixels."""
        boxes = [a.get_window_extent(renderer) for a in self.artists if a.get_text()]
        return Bbox.union(boxes) if boxes else self.artists[-1].get_window_extent(renderer)
