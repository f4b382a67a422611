"""Files: images and movies written atomically, at the dashboard's standard size, and the movie
writers.

A file the run writes first goes to a hidden temporary file beside its target, and replaces the
target only once complete: an ending in the middle (Ctrl-C, a full disk, a bug) never leaves a
half-written image or movie. Every temporary file is remembered until it is renamed or removed,
so that `remove_temporary_files()` (the runner's last step, whatever ended the run) leaves none.

The movie writers build on matplotlib's public `animation.AbstractMovieWriter`:
- GIF: each frame kept in 256 colours, zlib-compressed, until Pillow writes them all at the end
  (matplotlib's PillowWriter keeps full RGB frames: gigabytes for a 10,000-iteration run);
- MP4: frames piped to ffmpeg as they come. ffmpeg runs in a session of its own, so that the
  Ctrl-C meant for the run does not kill it before the movie is finished.

Images (--save-image, Ctrl-S) and movie frames (--save-movie) are drawn at the figure's standard
size (`standard_size`), so that they have the same size in pixels whatever the window's.
"""

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import zlib

import matplotlib
import numpy as np
from matplotlib.animation import AbstractMovieWriter

IMAGE_DPI = 100  # images: 16x9 inches -> 1600x900 pixels
MOVIE_DPI = 80  # movie frames: 1280x720 pixels
MOVIE_FPS = 10

_temporary = set()  # temporary files not yet renamed into place or removed


def temporary_beside(path, extension):
    """A new, empty, hidden temporary file in the folder of path, ending in .part + extension."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".part{extension}",
                                dir=folder)
    os.close(fd)
    _temporary.add(temp)
    return temp


def put_in_place(temp, path):
    """Rename a complete temporary file to its target, with the usual permissions (mkstemp
    makes files private to their owner)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)
    os.replace(temp, path)
    _temporary.discard(temp)


def remove(temp):
    """Remove a temporary file, if it is still there."""
    try:
        os.unlink(temp)
    except FileNotFoundError:
        pass
    _temporary.discard(temp)


def remove_temporary_files():
    """Remove every temporary file still in flight (an unfinished image or movie)."""
    for temp in list(_temporary):
        remove(temp)


def save_atomically(path, write):
    """write(temp) writes the file; only a complete one replaces path."""
    temp = temporary_beside(path, os.path.splitext(path)[1] or ".png")
    try:
        write(temp)
        put_in_place(temp, path)
    finally:
        remove(temp)


# --- the dashboard's pictures ------------------------------------------------------------------
@contextlib.contextmanager
def standard_size(dashboard):
    """The dashboard's figure at its standard size (16x9 inches) and fully drawn, for savefig."""
    dashboard.refresh()
    figure = dashboard.fig
    size = figure.get_size_inches().copy()
    standard = tuple(matplotlib.rcParams["figure.figsize"])
    resized = not np.allclose(size, standard)
    if resized:  # the window does not hear of it: no events are handled meanwhile
        figure.set_size_inches(standard, forward=False)
    try:
        with dashboard.drawing_context():  # the renderer's: every artist drawn, blitted or not
            yield
    finally:
        if resized:
            figure.set_size_inches(size, forward=False)


def save_image(path, dashboard):
    """The dashboard as an image, written whole or not at all: a PNG, or the format the
    path's extension names (.jpg, .pdf, .svg; the temporary file's name has another)."""
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    image_format = {"": "png", "jpeg": "jpg"}.get(extension, extension)
    with standard_size(dashboard):
        save_atomically(path, lambda temp: dashboard.fig.savefig(temp, format=image_format,
                                                                 dpi=IMAGE_DPI))


class Movie:
    """--save-movie: one frame per training update, written to a temporary file that becomes
    the movie once finished."""

    def __init__(self, path, dashboard):
        self.path, self.dashboard = path, dashboard
        extension = "." + path.rsplit(".", 1)[-1].lower()
        self.temp = temporary_beside(path, extension)
        self.writer = movie_writer(path, MOVIE_FPS)
        with standard_size(dashboard):  # the frame size: from the standard figure size
            self.writer.setup(dashboard.fig, self.temp, dpi=MOVIE_DPI)
        self.open = True

    def grab(self):
        with standard_size(self.dashboard):
            self.writer.grab_frame()

    def finish(self):
        """Write the movie; an empty one (no frame recorded) is removed. True if written."""
        self.open = False
        if self.writer.frames == 0:
            self.abort()
            return False
        try:
            self.writer.finish()
            put_in_place(self.temp, self.path)
            return True
        finally:
            remove(self.temp)

    def abort(self):
        if self.open and hasattr(self.writer, "abort"):
            self.writer.abort()
        self.open = False
        remove(self.temp)


# --- the movie writers ---------------------------------------------------------------------------
def movie_writer(path, fps):
    """The writer for a .gif or an .mp4 file."""
    if path.lower().endswith(".gif"):
        return GifWriter(fps=fps)
    return Mp4Writer(fps=fps)


class GifWriter(AbstractMovieWriter):
    """An animated GIF, frames kept compressed in memory and written by Pillow at the end."""

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi=dpi)
        self._frames = []  # (size, palette, zlib-compressed 8-bit pixels)

    def grab_frame(self, **savefig_kwargs):
        from PIL import Image
        buffer = io.BytesIO()
        self.fig.savefig(buffer, **{**savefig_kwargs, "format": "rgba", "dpi": self.dpi})
        rgba = Image.frombuffer("RGBA", self.frame_size, buffer.getbuffer(), "raw", "RGBA", 0, 1)
        frame = rgba.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                             dither=Image.Dither.NONE)
        self._frames.append((frame.size, frame.getpalette(), zlib.compress(frame.tobytes(), 1)))

    @property
    def frames(self):
        return len(self._frames)

    def finish(self):
        from PIL import Image

        def frames():
            for size, palette, data in self._frames:
                frame = Image.frombytes("P", size, zlib.decompress(data))
                frame.putpalette(palette)
                yield frame
        images = frames()
        next(images).save(self.outfile, format="GIF", save_all=True, append_images=images,
                          duration=int(1000 / self.fps), loop=0)


class Mp4Writer(AbstractMovieWriter):
    """An H.264 MP4, frames piped to ffmpeg as raw RGBA as they come."""

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi=dpi)
        width, height = self.frame_size
        self._log = tempfile.TemporaryFile()
        self._frames = 0
        self.ffmpeg = subprocess.Popen(
            [shutil.which("ffmpeg") or "ffmpeg", "-y", "-loglevel", "error",
             "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{width}x{height}", "-r", str(self.fps),
             "-i", "-", "-c:v", "h264", "-pix_fmt", "yuv420p", "-f", "mp4", outfile],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True)

    def grab_frame(self, **savefig_kwargs):
        buffer = io.BytesIO()
        self.fig.savefig(buffer, **{**savefig_kwargs, "format": "rgba", "dpi": self.dpi})
        self.ffmpeg.stdin.write(buffer.getbuffer())
        self._frames += 1

    @property
    def frames(self):
        return self._frames

    def finish(self):
        try:
            self.ffmpeg.stdin.close()
            status = self.ffmpeg.wait()
            if status != 0:
                self._log.seek(0)
                message = " ".join(self._log.read().decode(errors="replace").split())[-300:]
                raise OSError(f"ffmpeg failed (exit status {status}): {message}")
        finally:
            self._log.close()

    def abort(self):
        """Stop ffmpeg without finishing the movie."""
        self.ffmpeg.kill()
        self.ffmpeg.wait()
        self._log.close()
