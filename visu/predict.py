"""Using the trained network on the learner's own images: --predict IMAGE, and the drawing pad.

An image is first made like the training images (MNIST's recipe): grey, ink bright on dark (a
dark drawing on paper is turned over), its ink's bounding box scaled to fit a 20x20 box keeping
its proportions (28x28 for Fashion-MNIST, whose images fill their frame), then placed in 28x28
so that its centre of mass is the centre.
"""

import os

import numpy as np

from .startup import UserError

SIDE = 28
DIGITS = [str(d) for d in range(10)]


def box_for(classes):
    """The side of the box an image's ink is scaled into, for a data set of these class names:
    20 for digits (MNIST's were made so, inside 28x28), 28 for others (Fashion-MNIST's images
    fill their frame). The drawing pad and --predict both ask here."""
    return 20 if list(classes) == DIGITS else SIDE


def like_training_images(image, classes):
    """An image made like the training images of a data set of these class names (mnist_like,
    in the data set's box)."""
    return mnist_like(image, box=box_for(classes))


def mnist_like(image, box=20):
    """An image (a 2D grey or 3D colour array, any size, any polarity) as a [28, 28] float32 array
    of ink in [0, 1], made as MNIST's digits were. All zeros if there is no ink."""
    grey = np.asarray(image, np.float64)
    if grey.ndim == 3:
        grey = grey[..., :3].mean(axis=2)
    span = grey.max() - grey.min()
    if span <= 0:
        return np.zeros((SIDE, SIDE), np.float32)
    grey = (grey - grey.min()) / span
    if np.median(grey) > 0.5:  # dark ink on a light background: the ink must be the bright part
        grey = 1 - grey
    rows, cols = np.nonzero(grey > 0.15)
    if rows.size == 0:
        return np.zeros((SIDE, SIDE), np.float32)
    ink = grey[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = box / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    small = _resize(ink, size)
    out = np.zeros((SIDE, SIDE))
    top, left = (SIDE - small.shape[0]) // 2, (SIDE - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    # the centre of mass to the centre of the 28x28 field
    total = out.sum()
    if total > 0:
        cy = (out.sum(axis=1) * np.arange(SIDE)).sum() / total
        cx = (out.sum(axis=0) * np.arange(SIDE)).sum() / total
        out = _shift(out, int(round((SIDE - 1) / 2 - cy)), int(round((SIDE - 1) / 2 - cx)))
    return np.clip(out, 0, 1).astype(np.float32)


def _resize(ink, size):
    """Anti-aliased resampling (Pillow), as MNIST's normalisation had."""
    from PIL import Image
    # mode F: 32-bit float pixels, resampled without rounding to 8 bits
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized, np.float64)


def _shift(image, dy, dx):
    """image moved by (dy, dx) pixels, zeros coming in."""
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def read_image(path):
    """An image file as an array (transparent parts white); UserError if it cannot be read."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image = image.convert("RGBA")
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, image).convert("L"), np.float64)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise UserError(f"--predict: cannot read {path} as an image "
                        f"({' '.join(str(exc).split())}): give a PNG or JPEG file") from None


def describe(path, probabilities, classes):
    """'seven.png: 7 (97.3%); then 9 (1.5%), 2 (0.6%) | 0: 0.0% 1: 0.1% ...'"""
    order = np.argsort(probabilities)[::-1]
    best = f"{classes[order[0]]} ({100 * probabilities[order[0]]:.1f}%)"
    then = ", ".join(f"{classes[k]} ({100 * probabilities[k]:.1f}%)" for k in order[1:3])
    every = "  ".join(f"{name}: {100 * p:.1f}%" for name, p in zip(classes, probabilities))
    return f"{os.path.basename(path)}: {best}; then {then} | {every}"
