"""Tests for the six-panel dashboard of tensorflowvisu, offscreen (matplotlib's Agg backend).

Keys go through the canvas's real event path (KeyEvent + canvas.callbacks.process), the same
one a window's key presses take. The rung scripts run as subprocesses where that is the honest
test (--save-image, --save-movie); they need MNIST: MNIST_DATA_DIR, or data/ beside the scripts.
"""

import os
import shutil
import subprocess
import sys
import threading
import time

os.environ["MPLBACKEND"] = "Agg"
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import CloseEvent, KeyEvent  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import tensorflowvisu  # noqa: E402
from tensorflowvisu import Dashboard  # noqa: E402

ITERATIONS = 1000


def press(dashboard, key):
    """A key press, as a window would deliver it."""
    dashboard.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", dashboard.canvas, key))


def digits(n, rng):
    """n fake digits: a blob of ink in the middle of a 28x28 cell."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 8:20, 10:18, 0] = rng.uniform(0.5, 1.0, (n, 1, 1))
    return images


def feed(dashboard, i, rng, errors=3, spread=0.1):
    """One training update (and a test update every 100 iterations) of made-up numbers."""
    labels = rng.integers(0, 10, 100)
    predictions = labels.copy()
    predictions[:errors] = (labels[:errors] + 1) % 10
    dashboard.update_train(i, 0.9, 20.0 + 100 * np.exp(-i / 100), digits(100, rng), predictions, labels,
                           rng.normal(0, spread, 5000).astype(np.float32),
                           rng.normal(0.1, spread / 2, 100).astype(np.float32), epoch=i / 600, learning_rate=0.003)
    if i % 100 == 0:
        test_labels = rng.integers(0, 10, 10000)
        test_predictions = test_labels.copy()
        test_predictions[5:10000:25] = (test_labels[5:10000:25] + 3) % 10  # 4% wrong
        dashboard.update_test(i, 0.96, 15.0, TEST_IMAGES, test_predictions, test_labels)


TEST_IMAGES = digits(10000, np.random.default_rng(0))


@pytest.fixture
def dashboard():
    board = Dashboard("mnist_test_rung.py", ITERATIONS, 20, 100, interactive=False)
    yield board
    plt.close(board.fig)


@pytest.fixture
def live_dashboard():
    board = Dashboard("mnist_test_rung.py", ITERATIONS, 20, 100, interactive=False, live=True)
    yield board
    plt.close(board.fig)


def test_six_panels_with_their_titles(dashboard):
    assert [ax.get_title() for ax in dashboard.axes] == [
        "Accuracy", "Cross-entropy loss", "Training digits", "Weights", "Biases", "Test digits"]
    assert dashboard.visible_panels() == [1, 2, 3, 4, 5, 6]
    for ax in dashboard.axes[:2] + dashboard.axes[3:5]:
        assert ax.get_xlabel() == "iteration" and ax.get_ylabel()
        assert ax.get_xlim() == (0, ITERATIONS)
    assert dashboard.axes[0].get_ylim() == (0, 1)
    assert dashboard.axes[5].get_ylabel()
    # two rows of three
    boxes = [ax.get_subplotspec().get_position(dashboard.fig) for ax in dashboard.axes]
    assert boxes[0].y0 == pytest.approx(boxes[2].y0) and boxes[3].y0 == pytest.approx(boxes[5].y0)
    assert boxes[0].y0 > boxes[3].y1
    assert boxes[0].x1 < boxes[1].x0 < boxes[1].x1 < boxes[2].x0
    texts = [t.get_text() for t in dashboard.fig.texts]
    assert "mnist_test_rung.py" in texts
    assert any("Space" in t and "Ctrl-S" in t for t in texts), "the help line with the keys"


def test_updates_move_the_curves_images_and_bands(dashboard):
    rng = np.random.default_rng(0)
    blank_train = dashboard.train_image.get_array().copy()
    blank_test = dashboard.test_image.get_array().copy()
    for i in range(0, 201, 20):
        feed(dashboard, i, rng, spread=0.1 + i / 1000)
    dashboard._refresh()
    assert len(dashboard.train_accuracy_line.get_xdata()) == 11
    assert len(dashboard.test_loss_line.get_ydata()) == 3
    assert list(dashboard.test_accuracy_line.get_xdata()) == [0, 100, 200]
    # the bands: 7 polygons going from the first to the last update
    polygons = dashboard.bands[dashboard.axes[3]].get_paths()
    assert len(polygons) == 7
    assert polygons[3].vertices[:, 0].min() == 0 and polygons[3].vertices[:, 0].max() == 200
    # the bands follow the spread of the values
    low, high = dashboard.axes[3].get_ylim()
    assert low < -0.3 and high > 0.3
    # the training digits: 3 errors on red, with the labels beside them
    train = dashboard.train_image.get_array()
    assert not np.array_equal(train, blank_train)
    cell_width = 28 + 2 * tensorflowvisu.LABEL_WIDTH + tensorflowvisu.GUTTER
    red = dashboard.error_rgb
    first = train[:28, :cell_width - tensorflowvisu.GUTTER, :3]
    assert np.all(first[0, 0] == red), "an error: red background"
    assert first[:, :tensorflowvisu.LABEL_WIDTH].min() < 80, "the correct label on the left, in ink"
    assert first[:, -tensorflowvisu.LABEL_WIDTH:].min() < 80, "the computed label on the right"
    fourth = train[:28, 3 * cell_width:4 * cell_width - tensorflowvisu.GUTTER, :3]
    assert np.all(fourth[0, 0] == 255) and fourth[:, :tensorflowvisu.LABEL_WIDTH].min() == 255, \
        "a right answer: white, no labels"
    assert "3 errors" in dashboard.train_count.get_text()
    # the test digits, computed in update_test: 40 errors of 1,000 (4%), first, on red
    test = dashboard.test_image.get_array()
    assert test.shape[:2] == (25 * 28, 40 * 28) and not np.array_equal(test, blank_test)
    assert np.all(test[0, :40 * 28:28, :3] == red), "the first line: 40 errors"
    assert np.all(test[28, :40 * 28:28, :3] == 255), "then the right ones"
    assert "40 errors (4.0%)" in dashboard.test_count.get_text()
    status = dashboard.status_text.get_text()
    assert "iteration 200" in status and "epoch 0.33" in status and "learning rate 0.003" in status


def test_the_test_grid_is_computed_once_per_test_update_and_only_when_drawn(dashboard, monkeypatch):
    rng = np.random.default_rng(1)
    calls = []
    real = tensorflowvisu._digit_grid
    monkeypatch.setattr(tensorflowvisu, "_digit_grid", lambda *a, **k: calls.append(k) or real(*a, **k))
    test_grids = lambda: sum(1 for k in calls if k.get("errors_first"))  # noqa: E731
    feed(dashboard, 0, rng)  # a test update
    feed(dashboard, 100, rng)  # another one, before any frame
    assert test_grids() == 0  # updates only keep the data: a frame is built from the latest
    dashboard._refresh()
    assert test_grids() == 1 and dashboard.test_count.get_text() == "40 errors (4.0%)"  # of the 1,000 shown
    feed(dashboard, 120, rng)  # a training update only
    dashboard._refresh()
    assert test_grids() == 1


@pytest.mark.parametrize("key, panels", [
    ("1", [1]), ("2", [2]), ("3", [3]), ("4", [4]), ("5", [5]), ("6", [6]),
    ("7", [1, 2]), ("8", [4, 5]), ("9", [3, 6]), ("0", [1, 2, 3, 4, 5, 6]), ("escape", [1, 2, 3, 4, 5, 6])])
def test_keys_choose_the_panels(dashboard, key, panels):
    press(dashboard, "5" if key in ("0", "escape") else "0")
    press(dashboard, key)
    assert dashboard.visible_panels() == panels
    shown = [dashboard.axes[k - 1] for k in panels]
    if len(panels) == 1:
        box = shown[0].get_subplotspec().get_position(dashboard.fig)
        assert box.width > 0.9 and box.height > 0.8, "one panel fills the window"
    elif len(panels) == 2:
        left, right = (ax.get_subplotspec().get_position(dashboard.fig) for ax in shown)
        assert left.x1 < right.x0 and left.y0 == right.y0, "side by side"
        assert left.width > 0.4 and left.height > 0.8
    dashboard.canvas.draw()  # and it draws


def test_keys_then_all_six_again(dashboard):
    positions = [ax.get_position().bounds for ax in dashboard.axes]
    for key in "1234567890":
        press(dashboard, key)
    press(dashboard, "8")
    press(dashboard, "escape")
    assert [ax.get_position().bounds for ax in dashboard.axes] == positions


def test_the_dashboard_keys_are_not_matplotlib_keys(dashboard):
    taken = set("0123456789") | {"escape", " ", "ctrl+s"}
    for name, keys in matplotlib.rcParams.items():
        if name.startswith("keymap."):
            assert not taken & set(keys), f"{name} also uses {taken & set(keys)}"
    assert "o" in matplotlib.rcParams["keymap.zoom"] and "h" in matplotlib.rcParams["keymap.home"]
    assert "q" in matplotlib.rcParams["keymap.quit"]


def test_space_pauses_tick_until_space_again(dashboard):
    returned = []
    press(dashboard, " ")
    assert dashboard.paused and dashboard.pause_text.get_visible()
    worker = threading.Thread(target=lambda: returned.append(dashboard.tick(20)))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive() and not returned, "tick() blocks while paused"
    press(dashboard, " ")
    worker.join(5)
    assert returned == [True] and not dashboard.paused


def test_closing_the_figure_ends_tick(dashboard):
    assert dashboard.tick(0) is True
    plt.close(dashboard.fig)
    assert dashboard.tick(20) is False


def test_close_event_ends_tick_even_while_paused(dashboard):
    returned = []
    press(dashboard, " ")
    worker = threading.Thread(target=lambda: returned.append(dashboard.tick(20)))
    worker.start()
    time.sleep(0.3)
    CloseEvent("close_event", dashboard.canvas)._process()
    worker.join(5)
    assert returned == [False]


def test_ctrl_s_saves_the_image_to_a_file(dashboard, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    feed(dashboard, 0, np.random.default_rng(2))
    feed(dashboard, 20, np.random.default_rng(3))
    press(dashboard, "ctrl+s")
    path = tmp_path / "mnist_test_rung-20.png"
    assert path.is_file()
    assert str(path) in capsys.readouterr().out
    from PIL import Image
    assert Image.open(path).size == (1600, 900)
    assert os.listdir(tmp_path) == [path.name], "no temporary file left"


def test_images_have_the_standard_size_whatever_the_window(dashboard, tmp_path):
    dashboard.fig.set_size_inches(11, 7)  # as a user's resized window
    from PIL import Image
    assert Image.open(dashboard.save_image(str(tmp_path / "x.png"))).size == (1600, 900)
    assert tuple(dashboard.fig.get_size_inches()) == (11, 7)


def test_h_gives_the_panels_their_own_limits_back(dashboard):
    rng = np.random.default_rng(4)
    loss, accuracy = dashboard.axes[1], dashboard.axes[0]
    feed(dashboard, 0, rng)
    dashboard._refresh()
    loss.set_ylim(10, 20)  # a zoom, as the toolbar makes them
    accuracy.set_xlim(100, 200)
    for i in range(20, 200, 20):
        feed(dashboard, i, rng)
    dashboard._refresh()
    assert loss.get_ylim() == (10, 20), "the data does not undo the user's zoom"
    press(dashboard, "h")
    assert loss.get_ylim() == (0, 100) and loss.get_xlim() == (0, ITERATIONS)
    assert accuracy.get_xlim() == (0, ITERATIONS)


def test_the_toolbar_home_button_lets_the_panels_follow_the_data_again(dashboard):
    from matplotlib.backend_bases import NavigationToolbar2
    toolbar = NavigationToolbar2(dashboard.canvas)  # the toolbar of a window, without the window
    dashboard._follow_after_toolbar_home()
    rng = np.random.default_rng(5)
    loss, weights = dashboard.axes[1], dashboard.axes[3]
    for i in range(0, 101, 20):
        feed(dashboard, i, rng, spread=0.1)
    dashboard._refresh()
    toolbar.push_current()  # a zoom on the loss, as the toolbar makes them
    loss.set_ylim(10, 20)
    toolbar.push_current()
    for i in range(120, 301, 20):  # the weights spread out: their panel follows them
        feed(dashboard, i, rng, spread=1.0)
    dashboard._refresh()
    following = weights.get_ylim()
    assert following[1] > 2, "the weights panel follows the data during the zoom"
    toolbar.home()  # the views as before the zoom: the weights panel's old, small limits
    for i in range(320, 401, 20):
        feed(dashboard, i, rng, spread=1.0)
    dashboard._refresh()
    assert weights.get_ylim()[1] > 2, "after Home, the weights panel follows the data again"
    assert loss.get_ylim() == (0, 100), "and so does the loss panel"
    dashboard._apply_layout("4")  # another layout: the zoom history, with the old places, is gone
    assert len(toolbar._nav_stack) == 0


def test_live_frames_blit_and_match_a_full_drawing(live_dashboard):
    board = live_dashboard
    rng = np.random.default_rng(5)
    for i in range(0, 301, 20):
        feed(board, i, rng, spread=0.1 + i / 300)  # the spread grows: the band limits change
        board._draw_frame()
    assert board.full_draws <= 2, "new limits do not need a full redraw"
    live = np.asarray(board.canvas.buffer_rgba()).copy()
    with board._saving():
        board.fig.canvas.draw()
    full = np.asarray(board.canvas.buffer_rgba())
    differs = np.any(np.abs(live.astype(int) - full) > 40, axis=2)
    assert differs.mean() < 0.003, f"{differs.mean():.2%} of the pixels differ"


def test_live_drawing_keeps_to_its_budget(live_dashboard, monkeypatch):
    """A frame waits DRAW_BUDGET (20) times a frame's duration: drawing takes < ~5% of the time."""
    board = live_dashboard
    frames = []  # (start, end)
    draw_frame = board._draw_frame

    def timed():
        started = time.perf_counter()
        draw_frame()
        frames.append((started, time.perf_counter()))

    monkeypatch.setattr(board, "_draw_frame", timed)
    rng = np.random.default_rng(6)
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < 4:
        time.sleep(0.005)  # "training"
        i += 20
        feed(board, i % ITERATIONS, rng)
        board.tick(i)
    elapsed = time.perf_counter() - start
    assert len(frames) >= 2
    # each frame waits 12x the running average of the frames' durations (0.03 s to start with)
    average = 0.03
    for (start1, end1), (start2, _) in zip(frames, frames[1:]):
        average = (average + end1 - start1) / 2
        assert start2 - end1 >= tensorflowvisu.DRAW_BUDGET * average * 0.99
    longest = max(end - start for start, end in frames)
    assert board.draw_seconds <= elapsed / tensorflowvisu.DRAW_BUDGET + 2 * longest


def test_digit_grid_sorts_errors_first():
    red = np.array([240, 100, 90])
    colors = tensorflowvisu._ink_colors(red)
    images = np.zeros((80, 28, 28, 1), np.float32)
    labels = np.arange(80) % 10
    predictions = labels.copy()
    predictions[[5, 51, 79]] = 0
    predictions[[0]] = 1
    grid = tensorflowvisu._digit_grid(images, predictions, labels, 2, 40, colors, errors_first=True)
    assert grid.shape == (56, 1120, 4) and grid.dtype == np.uint8
    red_cells = [np.all(grid[0, 28 * k, :3] == red) for k in range(40)]
    assert red_cells == [True] * 4 + [False] * 36
    assert np.all(grid[28:, :, :3] == 255)


# --- the rung scripts, as a learner runs them -----------------------------------------------
def data_dir():
    folder = os.environ.get("MNIST_DATA_DIR") or os.path.join(ROOT, "data")
    if not os.path.isfile(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")):
        pytest.skip("MNIST not found: set MNIST_DATA_DIR")
    return folder


def run_rung(*args, script="mnist_1.0_softmax.py"):
    env = dict(os.environ, MPLBACKEND="Agg", MNIST_DATA_DIR=data_dir(), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TFVISU_FORCE_DASHBOARD", None)
    done = subprocess.run([sys.executable, script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_rung_saves_its_image_and_its_gif(tmp_path):
    from PIL import Image
    image, movie = tmp_path / "x.png", tmp_path / "x.gif"
    done = run_rung("--text", "--iterations", "30", "--save-image", str(image), "--save-movie", str(movie))
    assert done.stdout.strip().splitlines()[-1].startswith("max test accuracy:")
    assert Image.open(image).size == (1600, 900)
    with Image.open(movie) as gif:
        assert gif.size == (1280, 720)
        assert gif.n_frames == 30 // 10 + 1  # iterations 0, 10, 20, 30
    assert sorted(os.listdir(tmp_path)) == ["x.gif", "x.png"], "no temporary file left"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_rung_saves_an_mp4(tmp_path):
    movie = tmp_path / "x.mp4"
    run_rung("--text", "--iterations", "20", "--save-movie", str(movie))
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(movie)],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        assert probe.stdout.strip().split(",") == ["1280", "720", "3"]
    else:
        assert movie.stat().st_size > 1000
    assert os.listdir(tmp_path) == ["x.mp4"]


# --- the runner driving the dashboard: a tiny model on made-up digits ------------------------
@pytest.fixture
def tiny_rung(monkeypatch):
    """What a rung script hands to MnistDataVis.animate, for a 784 -> 10 softmax that counts its
    training steps. TFVISU_FORCE_DASHBOARD gives the text mode an offscreen, live dashboard."""
    tf = pytest.importorskip("tensorflow")
    import mnistdata
    monkeypatch.setenv("TFVISU_FORCE_DASHBOARD", "1")
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 10, n)
        images = digits(n, rng) * (labels[:, None, None, None] + 1) / 10
        return mnistdata.DataSet(images.astype(np.float32), np.eye(10, dtype=np.float32)[labels])

    mnist = mnistdata.Datasets(train=split(2000), test=split(1000))
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    steps = tf.Variable(0, dtype=tf.int64)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)

    def model(X):
        return tf.matmul(tf.reshape(X, [-1, 784]), W) + b

    @tf.function
    def evaluate(X, Y_):
        logits = model(X)
        Y = tf.nn.softmax(logits)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1)), tf.float32))
        return Y, accuracy, tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, logits)) * 100

    @tf.function
    def training_step(X, Y_, i):
        steps.assign_add(1)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, model(X)))
        optimizer.apply_gradients(zip(tape.gradient(loss, [W, b]), [W, b]))

    def animate(datavis, iterations):
        datavis.animate(training_step, evaluate, mnist, [W], [b], optimizer.learning_rate,
                        iterations=iterations, train_data_update_freq=10, test_data_update_freq=50)

    return animate, steps


def wait_for_dashboard(datavis, timeout=60):
    deadline = time.time() + timeout
    while datavis.dashboard is None and time.time() < deadline:
        time.sleep(0.02)
    return datavis.dashboard


def test_space_stops_training_until_space_again(tiny_rung):
    animate, steps = tiny_rung
    datavis = tensorflowvisu.MnistDataVis(tensorflowvisu.parse_args(argv=["--text"]))
    seen = {}

    def learner():
        board = wait_for_dashboard(datavis)
        while int(steps.numpy()) < 20:
            time.sleep(0.01)
        press(board, " ")
        count, deadline = -1, time.time() + 10
        while int(steps.numpy()) != count and time.time() < deadline:  # the chunk under way ends
            count = int(steps.numpy())
            time.sleep(0.3)
        seen["paused at"] = count
        time.sleep(1.0)
        seen["a second later"] = int(steps.numpy())
        press(board, " ")

    helper = threading.Thread(target=learner)
    helper.start()
    animate(datavis, 3000)
    helper.join(10)
    assert seen["paused at"] == seen["a second later"] < 3000, seen
    assert int(steps.numpy()) == 3000 and datavis.interrupted_at is None


def test_closing_the_window_stops_the_run_cleanly(tiny_rung, capsys):
    animate, steps = tiny_rung
    datavis = tensorflowvisu.MnistDataVis(tensorflowvisu.parse_args(argv=["--text"]))

    def learner():
        board = wait_for_dashboard(datavis)
        while int(steps.numpy()) < 50:
            time.sleep(0.01)
        plt.close(board.fig)

    helper = threading.Thread(target=learner)
    helper.start()
    animate(datavis, 100000)
    helper.join(10)
    assert 50 <= datavis.interrupted_at < 100000
    assert datavis.get_max_test_accuracy() > 0
    assert "stopped at iteration" in capsys.readouterr().err
