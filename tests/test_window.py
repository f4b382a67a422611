"""The dashboard in a real window: rung 1.0 on a virtual screen (Xvfb), driven with xdotool.

Needs Xvfb, xdotool and ImageMagick's `import` (screenshots), tkinter, and MNIST
(MNIST_DATA_DIR, or data/ beside the scripts); skipped, saying which is missing, otherwise.
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH, HEIGHT = 1366, 768

missing = [tool for tool in ("Xvfb", "xdotool", "import") if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (apt: xvfb xdotool imagemagick)")


def data_dir():
    folder = os.environ.get("MNIST_DATA_DIR") or os.path.join(ROOT, "data")
    if not os.path.isfile(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")):
        pytest.skip("MNIST not found: set MNIST_DATA_DIR")
    return folder


@pytest.fixture(scope="module")
def display():
    """A virtual 1366x768 screen on a free display number."""
    pytest.importorskip("tkinter")
    number = next(n for n in range(99, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}")
                  and not os.path.exists(f"/tmp/.X{n}-lock"))
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
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
    done = subprocess.run(command, env=dict(os.environ, DISPLAY=display), capture_output=True, text=True,
                          timeout=timeout)
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
    """A screenshot that differs from `reference` by more than 0.5% of its pixels, or the test fails."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(interval)
        shot = screenshot(display, path)
        if changed(reference, shot) > 0.005:
            return shot
    pytest.fail(failure)


def test_the_window_trains_pauses_switches_panels_and_quits(display, tmp_path):
    env = dict(os.environ, DISPLAY=display, MPLBACKEND="TkAgg", MNIST_DATA_DIR=data_dir(),
               TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TFVISU_FORCE_DASHBOARD", None)
    # long enough to still be training when the keys come; Q stops it early
    run = subprocess.Popen([sys.executable, "mnist_1.0_softmax.py", "--iterations", "20000"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = x(display, "xdotool", "search", "--sync", "--onlyvisible", "--name", "mnist_1.0").split()[0]

        def key(name):
            x(display, "xdotool", "key", "--window", window, name)

        # training: the digits appear, errors on red, and the dashboard moves on
        deadline = time.time() + 90
        while time.time() < deadline:
            running = screenshot(display, tmp_path / "running.png")
            if np.all(np.abs(running - [240, 98, 90]) < 30, axis=2).sum() > 100:
                break
            time.sleep(0.5)
        else:
            pytest.fail("no misrecognised digit on red: the dashboard shows no training")
        assert len(np.unique(running.reshape(-1, 3), axis=0)) > 50, "a blank screen"
        later = wait_for_change(display, tmp_path / "later.png", running, "the dashboard does not move",
                                interval=1)

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
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1].startswith("max test accuracy:"), out
    assert "stopped at iteration" in err
