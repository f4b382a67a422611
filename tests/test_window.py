"""The dashboard in a real window: rung 1.0 on a virtual screen (Xvfb), driven with xdotool, and
every way a window run can end.

Needs Xvfb, xdotool and ImageMagick's `import` (screenshots), tkinter, and MNIST
(MNIST_DATA_DIR, or data/ beside the scripts); skipped, saying which is missing, otherwise.
"""

import ctypes
import ctypes.util
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import MAX_LINE, last_line, needs, real_data, start_rung

WIDTH, HEIGHT = 1366, 768

pytestmark = [needs("Xvfb", "xdotool", "import"), real_data]


@pytest.fixture(scope="module")
def display():
    """A virtual 1366x768 screen on a free display number."""
    pytest.importorskip("tkinter")
    number = next(n for n in range(99, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}")
                  and not os.path.exists(f"/tmp/.X{n}-lock"))
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
                               "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        if server.poll() is not None or time.time() > deadline:
            pytest.skip("Xvfb did not start")
        time.sleep(0.1)
    yield f":{number}"
    server.terminate()
    server.wait(10)


def x(display, *command, timeout=60, check=True):
    done = subprocess.run(command, env=dict(os.environ, DISPLAY=display), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0 or not check, f"{command}: {done.stderr}"
    return done.stdout


def screenshot(display, path):
    from PIL import Image
    x(display, "import", "-window", "root", str(path))
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def settle(display, path, before=None, seconds=20):
    """A screenshot once the screen changed from `before` (when given), then stopped changing."""
    deadline = time.time() + seconds
    shot = screenshot(display, path)
    while before is not None and np.array_equal(shot, before) and time.time() < deadline:
        time.sleep(0.2)
        shot = screenshot(display, path)
    while time.time() < deadline:
        time.sleep(0.5)
        previous, shot = shot, screenshot(display, path)
        if np.array_equal(shot, previous):
            break
    return shot


def changed(a, b):
    """The fraction of the pixels that differ."""
    return float(np.mean(np.any(a != b, axis=2)))


def wait_for_change(display, path, reference, failure, seconds=20, interval=0.5):
    """A screenshot that differs from `reference` by more than 0.5% of its pixels, or fail."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(interval)
        shot = screenshot(display, path)
        if changed(reference, shot) > 0.005:
            return shot
    pytest.fail(failure)


def wait_for_training(display, tmp_path, seconds=90):
    """A screenshot once the dashboard shows a misrecognised digit on red."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        shot = screenshot(display, tmp_path / "running.png")
        if np.all(np.abs(shot - [240, 98, 90]) < 30, axis=2).sum() > 100:
            return shot
        time.sleep(0.5)
    pytest.fail("no misrecognised digit on red: the dashboard shows no training")


def window_run(display, *flags, iterations=20000):
    """Rung 1.0 in a window, long enough to be training when the test acts; its window's id."""
    run = start_rung("mnist_1.0_softmax.py", "--iterations", str(iterations), *flags,
                     env={"DISPLAY": display, "MPLBACKEND": "TkAgg"})
    window = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", "mnist_1.0",
               timeout=90).split()[0]
    return run, window


def finish(run, timeout=60):
    """The run's output, once it ended (killed if it does not within the timeout)."""
    try:
        return run.communicate(timeout=timeout)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


def kill_on_failure(run):
    """A failed test kills its run (a paused run would wait forever)."""
    if run.poll() is None:
        run.kill()


def press_close_button(display, window):
    """What a window manager does when the close button is clicked: a WM_DELETE_WINDOW
    message to the window (Xvfb has no window manager, hence Xlib here)."""
    xlib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                ctypes.c_void_p]
    xlib.XFlush.argtypes = xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):  # XClientMessageEvent, padded to sizeof(XEvent)
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                    ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                    ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5),
                    ("pad", ctypes.c_long * 12)]

    connection = xlib.XOpenDisplay(display.encode())
    assert connection, f"cannot open {display}"
    message = ClientMessage(type=33, window=int(window), format=32,
                            message_type=xlib.XInternAtom(connection, b"WM_PROTOCOLS", 0))
    message.data[0] = xlib.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
    xlib.XSendEvent(connection, int(window), 0, 0, ctypes.byref(message))
    xlib.XFlush(connection)
    xlib.XCloseDisplay(connection)


def assert_clean_ending(run, out, err, reason, status=0):
    assert run.returncode == status, err[-2000:]
    assert MAX_LINE.match(last_line(out)), out
    assert f"stopped at iteration" in err and reason in err, err
    assert "Traceback" not in err and "X Error" not in err


def test_the_window_trains_pauses_switches_panels_and_quits(display, tmp_path):
    run, window = window_run(display)
    try:
        def key(name):
            x(display, "xdotool", "key", "--window", window, name)

        running = wait_for_training(display, tmp_path)
        assert len(np.unique(running.reshape(-1, 3), axis=0)) > 50, "a blank screen"
        later = wait_for_change(display, tmp_path / "later.png", running,
                                "the dashboard does not move", interval=1)

        # Space: training stops, the picture freezes (with the PAUSED flag) ...
        key("space")
        paused = settle(display, tmp_path / "paused.png", before=later)
        time.sleep(2)
        still = screenshot(display, tmp_path / "still.png")
        assert changed(paused, still) == 0, "paused, yet the dashboard moves"
        # ... and the window still answers: 7 shows accuracy and loss only
        key("7")
        two_panels = settle(display, tmp_path / "two_panels.png", before=still)
        assert changed(paused, two_panels) > 0.05, "the 7 key changed nothing"
        key("0")
        six_panels = settle(display, tmp_path / "six_panels.png", before=two_panels)
        assert changed(six_panels, paused) < 0.01, "0 does not bring the six panels back"
        # O and a mouse drag zoom into the weights (bottom left); H resets the zoom
        key("o")
        x(display, "xdotool", "mousemove", "55", "420", "mousedown", "1", "mousemove", "90", "470",
          "mousemove", "130", "520", "mouseup", "1")
        zoomed = settle(display, tmp_path / "zoomed.png", before=six_panels)
        assert changed(six_panels, zoomed) > 0.01, "no zoom"
        key("h")
        home = settle(display, tmp_path / "home.png", before=zoomed)
        figure = slice(0, 600)  # above the toolbar, which shows the mouse's coordinates
        assert changed(six_panels[figure], home[figure]) < 0.002, "H does not reset the zoom"
        key("o")  # out of zoom mode
        assert run.poll() is None

        # Space again: training goes on
        key("space")
        wait_for_change(display, tmp_path / "resumed.png", paused, "training did not resume")

        # Q closes the window: the run stops cleanly. The window can vanish between the key's
        # press and its release, and xdotool then fails on the release: what counts is the exit.
        x(display, "xdotool", "key", "--window", window, "q", check=False)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert_clean_ending(run, out, err, "window closed")


def test_the_window_opens_while_tensorflow_loads_and_a_close_then_ends_the_run(display,
                                                                              tmp_path):
    run, window = window_run(display, "--save-image", str(tmp_path / "x.png"))
    try:
        os.set_blocking(run.stdout.fileno(), False)
        time.sleep(0.2)
        said = run.stdout.read() or ""
        assert "loading TensorFlow" in said and "TensorFlow loaded" not in said, said
        shot = screenshot(display, tmp_path / "loading.png")
        assert np.mean(np.all(shot > 240, axis=2)) > 0.3, "the window shows, white"
        press_close_button(display, window)  # acted on once TensorFlow is loaded
        os.set_blocking(run.stdout.fileno(), True)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert_clean_ending(run, said + out, err, "window closed")
    assert "stopped at iteration 0" in err
    assert sorted(os.listdir(tmp_path)) == ["loading.png", "x.png"]


def test_the_close_button_ends_the_run_cleanly(display, tmp_path):
    run, window = window_run(display, "--save-image", str(tmp_path / "x.png"))
    try:
        wait_for_training(display, tmp_path)
        press_close_button(display, window)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert_clean_ending(run, out, err, "window closed")
    assert os.listdir(tmp_path) == ["running.png", "x.png"]


def test_ctrl_c_closes_the_window_and_a_second_one_is_harmless(display, tmp_path):
    run, window = window_run(display, "--save-movie", str(tmp_path / "x.gif"))
    try:
        wait_for_training(display, tmp_path)
        run.send_signal(signal.SIGINT)
        time.sleep(0.3)  # the movie is being written
        run.send_signal(signal.SIGINT)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert_clean_ending(run, out, err, "Ctrl-C")
    assert sorted(os.listdir(tmp_path)) == ["running.png", "x.gif"], "the movie, no .part file"
    assert "mnist_1.0" not in x(display, "xdotool", "search", "--name", "mnist_1.0", check=False)


def test_sigterm_ends_the_run_cleanly_with_status_143(display, tmp_path):
    run, window = window_run(display, "--save-movie", str(tmp_path / "x.gif"))
    try:
        wait_for_training(display, tmp_path)
        run.send_signal(signal.SIGTERM)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert_clean_ending(run, out, err, "SIGTERM", status=143)
    assert sorted(os.listdir(tmp_path)) == ["running.png", "x.gif"]


@pytest.mark.parametrize("how", ["windowclose", "windowkill"])
def test_a_window_destroyed_from_outside_ends_the_run_cleanly(display, tmp_path, how):
    """`xdotool windowclose` destroys the window (as a crashing window manager may);
    `windowkill` cuts the program's connection to the screen, as xkill does."""
    run, window = window_run(display, "--save-image", str(tmp_path / "x.png"),
                             "--save-movie", str(tmp_path / "x.gif"))
    try:
        wait_for_training(display, tmp_path)
        x(display, "xdotool", how, window)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    reason = "window closed" if how == "windowclose" else "window destroyed"
    assert_clean_ending(run, out, err, reason)
    assert sorted(os.listdir(tmp_path)) == ["running.png", "x.gif", "x.png"]


def test_a_finished_run_keeps_its_window_until_it_is_closed(display, tmp_path):
    run, window = window_run(display, iterations=100)
    try:
        deadline = time.time() + 90
        lines = []
        while time.time() < deadline and not (lines and lines[-1].startswith("max test accuracy")):
            lines.append(run.stdout.readline())
        assert MAX_LINE.match(lines[-1].strip()), lines
        time.sleep(1)
        assert run.poll() is None, "the window stays, with the final picture"
        shot = screenshot(display, tmp_path / "done.png")
        assert np.all(np.abs(shot - [240, 98, 90]) < 30, axis=2).sum() > 100
        press_close_button(display, window)
    except BaseException:
        kill_on_failure(run)
        raise
    out, err = finish(run)
    assert run.returncode == 0 and err == "", err
    assert out.strip() == "", "nothing after the summary"
