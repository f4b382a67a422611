"""Pictures, with numpy only: digit grids, colours, percentile bands and axis limits.

Everything the dashboard shows that can be computed without a figure is computed here, on numpy
arrays, so that it is cheap (one RGBA image for 1,000 digits instead of 1,000 artists) and can
be tested without matplotlib. Colours are RGB triples of floats in [0, 1].
"""

import math

import numpy as np

BANDS = 7  # percentile bands of the weights and biases, 1/7 of the values each
PERCENTILE_SAMPLE = 1 << 15  # the inner band edges of bigger arrays come from this many values
LOSS_TOP = 100  # the loss axis shows 0-100 (the codelab's scale), more if the loss stays higher
DIGIT = 28  # pixels of an MNIST image's side


# --- digit grids ----------------------------------------------------------------------------
def ink_colors(error_rgb):
    """Colour lookup table: entry 256 * wrong + ink (0-255) is the RGBA colour, as one uint32,
    of black ink on white (wrong = 0) or on the error colour (wrong = 1)."""
    ink = np.arange(256)[:, None] / 255
    backgrounds = np.stack([np.ones(3), np.asarray(error_rgb, np.float64)]) * 255
    rgba = np.full((2, 256, 4), 255, np.uint8)
    rgba[:, :, :3] = np.round(backgrounds[:, None, :] * (1 - ink[None]))
    return rgba.reshape(512, 4).view(np.uint32).ravel()


def blank_grid(rows, columns, side=0, gutter=0):
    """A white RGBA image the size of a grid of rows x columns digits."""
    height = rows * (DIGIT + gutter) - gutter
    width = columns * (DIGIT + 2 * side + gutter) - gutter
    return np.full((height, width, 4), 255, np.uint8)


def digit_grid(images, predictions, labels, rows, columns, colors, glyphs=None, gutter=0,
               errors_first=False, reduce=1):
    """Digits as one RGBA uint8 image of rows x columns cells: black ink on white, or on the
    error colour where the prediction is wrong (colors: the lookup table of ink_colors).

    glyphs: ink images [10, 28, width] of the labels 0-9: a wrong digit gets its correct label
    on its left and the computed one on its right. errors_first: the wrong digits first, in
    their order, then the right ones. Images are float in [0, 1] or uint8. reduce: 2 makes the
    grid at half its size, each digit 14 x 14 (the mean of each 2 x 2 pixels), for a panel
    that shows it that small anyway (no labels or gutter then).
    """
    ink = np.asarray(images).reshape(-1, DIGIT, DIGIT)[:rows * columns]
    n = len(ink)
    predictions, labels = np.asarray(predictions)[:n], np.asarray(labels)[:n]
    wrong = predictions != labels
    if errors_first:
        order = np.argsort(~wrong, kind="stable")
        ink, predictions, labels = ink[order], predictions[order], labels[order]
        wrong = wrong[order]
    side = 0 if glyphs is None else glyphs.shape[2]
    if reduce != 1:
        if DIGIT % reduce or side or gutter:
            raise ValueError("digit_grid: reduce is for plain digits (no labels, no gutter)")
        ink = shrink(ink, reduce)
    digit = DIGIT // reduce
    height, width = digit + gutter, digit + 2 * side + gutter
    cells = np.zeros((rows * columns, height, width), np.uint8)  # ink, 0-255
    if ink.dtype == np.uint8:
        cells[:n, :digit, side:side + digit] = ink
    else:
        cells[:n, :digit, side:side + digit] = np.clip(ink * 255 + 0.5, 0, 255)
    if side and wrong.any():
        w = np.flatnonzero(wrong)
        cells[w, :DIGIT, :side] = glyphs[labels[w]]
        cells[w, :DIGIT, side + DIGIT:2 * side + DIGIT] = glyphs[predictions[w]]
    index = cells.astype(np.uint16)
    index[np.flatnonzero(wrong)] += 256
    rgba = np.take(colors, index)  # [cells, height, width] uint32: one RGBA pixel each
    if gutter:
        rgba[:, digit:] = colors[0]
        rgba[:, :, digit + 2 * side:] = colors[0]
    grid = rgba.reshape(rows, columns, height, width).transpose(0, 2, 1, 3)
    grid = grid.reshape(rows * height, columns * width)[:rows * height - gutter,
                                                        :columns * width - gutter]
    return np.ascontiguousarray(grid).view(np.uint8).reshape(*grid.shape, 4)


def shrink(images, k):
    """Images [n, h, w] at 1/k of their size, each pixel the mean of k x k: float32 in the
    images' own scale (uint8 images give floats in 0-255, rounded back to uint8)."""
    n, h, w = images.shape
    total = np.zeros((n, h // k, w // k), np.float32)
    for dy in range(k):  # k * k strided additions: much faster than a mean over new axes
        for dx in range(k):
            total += images[:, dy::k, dx::k]
    if images.dtype == np.uint8:
        return (total / (k * k) + 0.5).astype(np.uint8)
    return total / (k * k)


def errors_text(predictions, labels):
    """'3 errors (3.0%)'."""
    errors = int(np.count_nonzero(np.asarray(predictions) != np.asarray(labels)))
    share = 100 * errors / max(len(labels), 1)
    return f"{errors} error{'s' if errors != 1 else ''} ({share:.1f}%)"


# --- percentile bands -----------------------------------------------------------------------
def band_colors(rgb):
    """BANDS shades of a colour: the middle band darkest, paler and paler outwards."""
    base = np.asarray(rgb, np.float64)
    middle = BANDS // 2
    strengths = [1.0 - 0.78 * abs(k - middle) / middle for k in range(BANDS)]
    return [tuple(1 - s * (1 - base)) for s in strengths]


_SAMPLES = {}


def percentiles(values):
    """The BANDS + 1 edges of the bands: min, the 1/7, 2/7 ... percentiles, max. Big arrays
    (the 240,000 weights of rung 2.2) give their inner edges from a fixed sample of their
    values: 8x faster, and the bands do not move by a pixel."""
    values = np.asarray(values).ravel()
    if values.size == 0:
        return np.zeros(BANDS + 1)
    edges = np.empty(BANDS + 1)
    edges[0], edges[-1] = values.min(), values.max()
    if values.size > PERCENTILE_SAMPLE:
        sample = _SAMPLES.get(values.size)
        if sample is None:  # the same values every time, so that the bands stay smooth
            rng = np.random.default_rng(0)
            sample = np.sort(rng.choice(values.size, PERCENTILE_SAMPLE, replace=False))
            _SAMPLES[values.size] = sample
        values = values[sample]
    edges[1:-1] = np.percentile(values, np.linspace(0, 100, BANDS + 1)[1:-1])
    return edges


def band_polygons(x, edges):
    """One polygon per band: along its lower edge, then back along its upper edge.
    x: [n] iterations; edges: [n, BANDS + 1] from percentiles()."""
    edges = np.asarray(edges)
    xs = np.concatenate((x, x[::-1]))
    return [np.column_stack((xs, np.concatenate((edges[:, k], edges[::-1, k + 1]))))
            for k in range(BANDS)]


# --- axis limits ----------------------------------------------------------------------------
def nice_step(span, bins=10):
    """The smallest of 1, 2, 2.5, 5 x 10^k that cuts span into at most `bins` steps."""
    raw = span / bins
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def nice_limits(low, high, room=0.15):
    """Limits around [low, high], with some room to grow, rounded out to tick values."""
    span = high - low
    low, high = low - room * span, high + room * span
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def band_limits(edges, current, initial=False):
    """Limits that show all the bands. They change only when the bands leave them (with room
    to grow) or shrink to less than half of them: each change redraws the panel's axis."""
    edges = np.asarray(edges)
    low, high = float(np.min(edges[:, 0])), float(np.max(edges[:, -1]))
    if not (np.isfinite(low) and np.isfinite(high)):
        return current
    if high - low < 1e-3:  # a single value (biases at the start): a small window around it
        middle = (high + low) / 2
        low, high = middle - 0.05, middle + 0.05
    bottom, top = current
    if initial or not (bottom <= low and high <= top and (high - low) * 2 > top - bottom):
        return nice_limits(low, high, room=0.15 if initial else 0.3)
    return current


def loss_limits(train_losses, test_losses, current):
    """0 to LOSS_TOP like the codelab (the loss starts at ~230 and falls below 100 within a few
    updates); higher only while the loss stays above it."""
    if len(train_losses) < 5:
        return 0, LOSS_TOP
    recent = [x for series in (train_losses, test_losses) for x in series[-5:] if np.isfinite(x)]
    if min(recent, default=0) <= LOSS_TOP:
        return 0, LOSS_TOP
    high = max(recent)
    if high <= current[1] < 3 * high:
        return current
    return 0, nice_limits(0, high, room=0.3)[1]


# --- label glyphs ----------------------------------------------------------------------------
_GLYPHS = None


def label_glyphs(width):
    """The digits 0-9 as ink [10, 28, width] uint8, rendered once with matplotlib's own font (the
    only use of matplotlib here): stamping them into the numpy image is much cheaper than 200
    text artists a frame."""
    global _GLYPHS
    if _GLYPHS is None or _GLYPHS.shape[2] != width:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        scale = 4  # rendered 4x larger, then averaged down: smooth edges
        pixels_wide, pixels_high = 10 * width * scale, DIGIT * scale
        fig = Figure(figsize=(pixels_wide / 100, pixels_high / 100), dpi=100, facecolor="white")
        canvas = FigureCanvasAgg(fig)
        for d in range(10):
            fig.text((d + 0.5) / 10, 0.5, str(d), ha="center", va="center_baseline",
                     color="black", fontsize=DIGIT * scale * 72 / 100 * 0.5, fontweight="bold",
                     family="DejaVu Sans")
        canvas.draw()
        ink = 255 - np.asarray(canvas.buffer_rgba())[:, :, 0].astype(np.float64)
        ink = ink.reshape(DIGIT, scale, 10 * width, scale).mean(axis=(1, 3))
        _GLYPHS = np.stack(np.split(np.round(ink).astype(np.uint8), 10, axis=1))
    return _GLYPHS
