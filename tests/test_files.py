"""visu/files.py: files written whole or not at all, at the standard size, and the movie writers
(no TensorFlow)."""

import contextlib
import os
import signal
import subprocess

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from conftest import needs  # noqa: E402
from visu import files  # noqa: E402


def small_figure():
    figure = Figure(figsize=(3.2, 2.4), dpi=100)
    FigureCanvasAgg(figure)
    line, = figure.add_subplot().plot([0, 1], [0, 1])
    return figure, line


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_one(tmp_path):
    def write(temp):
        with open(temp, "w") as f:
            f.write("half")
        raise OSError("disk full")
    with pytest.raises(OSError):
        files.save_atomically(str(tmp_path / "x.png"), write)
    assert os.listdir(tmp_path) == []


def test_a_complete_write_has_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        files.save_atomically(str(tmp_path / "x.txt"), lambda temp: open(temp, "w").write("ok"))
    finally:
        os.umask(umask)
    assert os.listdir(tmp_path) == ["x.txt"]
    assert oct(os.stat(tmp_path / "x.txt").st_mode & 0o777) == "0o644"


def test_remove_temporary_files_removes_those_in_flight(tmp_path):
    temp = files.temporary_beside(str(tmp_path / "movie.gif"), ".gif")
    assert os.path.basename(temp).startswith(".movie.gif.") and temp.endswith(".part.gif")
    files.remove_temporary_files()
    assert os.listdir(tmp_path) == []


def test_the_gif_writer_keeps_every_frame(tmp_path):
    from PIL import Image
    figure, line = small_figure()
    writer = files.movie_writer("x.gif", fps=10)
    path = str(tmp_path / "x.gif")
    writer.setup(figure, path, dpi=100)
    for k in range(5):
        line.set_ydata([0, k])
        writer.grab_frame()
    assert writer.frames == 5
    writer.finish()
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (320, 240)
        frames = []
        for k in range(5):
            gif.seek(k)
            frames.append(np.asarray(gif.convert("RGB")))
    assert not np.array_equal(frames[0], frames[4]), "the frames differ as the line moved"


@needs("ffmpeg", "ffprobe")
def test_the_mp4_writer_survives_the_ctrl_c_meant_for_the_run(tmp_path):
    figure, line = small_figure()
    writer = files.movie_writer("x.mp4", fps=10)
    path = str(tmp_path / "x.mp4")
    writer.setup(figure, path, dpi=100)
    writer.grab_frame()
    # Ctrl-C in a terminal reaches the whole foreground process group: ffmpeg is not in ours
    assert os.getpgid(writer.ffmpeg.pid) != os.getpgid(0)
    line.set_ydata([1, 0])
    writer.grab_frame()
    writer.finish()
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0",
                            path], capture_output=True, text=True)
    assert probe.stdout.strip().split(",") == ["320", "240", "2"]


@needs("ffmpeg")
def test_an_aborted_mp4_stops_ffmpeg(tmp_path):
    figure, _ = small_figure()
    writer = files.movie_writer("x.mp4", fps=10)
    writer.setup(figure, str(tmp_path / "x.mp4"), dpi=100)
    writer.grab_frame()
    writer.abort()
    assert writer.ffmpeg.poll() == -signal.SIGKILL


class FakeDashboard:
    """What the files need of a dashboard: its figure, refresh(), a drawing context."""

    def __init__(self, figure):
        self.fig, self.refreshed = figure, 0
        self.drawing_context = contextlib.nullcontext

    def refresh(self):
        self.refreshed += 1


def test_an_image_has_the_format_its_name_says(tmp_path):
    figure, line = small_figure()
    dashboard = FakeDashboard(figure)
    starts = {"x.png": b"\x89PNG", "x.jpg": b"\xff\xd8", "x.JPEG": b"\xff\xd8",
              "x.pdf": b"%PDF", "x.svg": b"<?xml"}
    for name, start in starts.items():
        files.save_image(str(tmp_path / name), dashboard)
        assert (tmp_path / name).read_bytes().startswith(start), name
    assert sorted(os.listdir(tmp_path)) == sorted(starts), "no temporary file left"


def test_images_and_movie_frames_have_the_standard_size_whatever_the_figure(tmp_path):
    from PIL import Image
    figure, line = small_figure()  # 3.2x2.4 inches: a small window, say
    dashboard = FakeDashboard(figure)
    files.save_image(str(tmp_path / "x.png"), dashboard)
    movie = files.Movie(str(tmp_path / "x.gif"), dashboard)
    for k in range(3):
        line.set_ydata([0, k])
        movie.grab()
    assert movie.finish() is True
    assert tuple(figure.get_size_inches()) == (3.2, 2.4), "the figure's own size back"
    assert dashboard.refreshed == 5, "the latest data in every picture"
    standard = tuple(matplotlib.rcParams["figure.figsize"])
    with Image.open(tmp_path / "x.png") as image:
        assert image.size == tuple(round(s * files.IMAGE_DPI) for s in standard)
    with Image.open(tmp_path / "x.gif") as gif:
        assert gif.n_frames == 3 and gif.size == tuple(round(s * files.MOVIE_DPI) for s in standard)
    assert sorted(os.listdir(tmp_path)) == ["x.gif", "x.png"], "no temporary file left"


def test_an_empty_movie_leaves_no_file(tmp_path):
    movie = files.Movie(str(tmp_path / "x.gif"), FakeDashboard(small_figure()[0]))
    assert movie.finish() is False
    assert os.listdir(tmp_path) == []
