"""The six-panel dashboard, offscreen (matplotlib's Agg backend), without TensorFlow.

Keys go through the canvas's real event path (KeyEvent + canvas.callbacks.process), the same
one a window's key presses take. Frames are drawn as a window draws them (AggLiveRenderer:
blitting over a saved background), or whole on a canvas that cannot blit. Also without a
window: how each renderer says the run reports, and the window's fallbacks where its toolkit or
Xlib is missing.
"""

import ctypes
import io
import os
import subprocess
import sys
import types

os.environ["MPLBACKEND"] = "Agg"
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import KeyEvent, NavigationToolbar2  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from conftest import ROOT  # noqa: E402
from visu import dashboard as dashboard_module  # noqa: E402
from visu import blitting, files, flags, gridimage, pictures, renderers, window  # noqa: E402
from visu.dashboard import Dashboard  # noqa: E402

ITERATIONS = 1000


def press(board, key):
    """A key press, as a window would deliver it."""
    event = KeyEvent("key_press_event", board.canvas, key)
    board.canvas.callbacks.process("key_press_event", event)


def digits(n, rng):
    """n fake digits: a blob of ink in the middle of a 28x28 cell."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 8:20, 10:18, 0] = rng.uniform(0.5, 1.0, (n, 1, 1))
    return images


TEST_IMAGES = digits(10000, np.random.default_rng(0))


def feed(board, i, rng, errors=3, spread=0.1):
    """One training update (and a test update every 100 iterations) of made-up numbers."""
    labels = rng.integers(0, 10, 100)
    predictions = labels.copy()
    predictions[:errors] = (labels[:errors] + 1) % 10
    board.update_train(i, 0.9, 20.0 + 100 * np.exp(-i / 100), digits(100, rng), predictions,
                       labels, rng.normal(0, spread, 5000).astype(np.float32),
                       rng.normal(0.1, spread / 2, 100).astype(np.float32), epoch=i / 600,
                       learning_rate=0.003)
    if i % 100 == 0:
        test_labels = rng.integers(0, 10, 10000)
        test_predictions = test_labels.copy()
        test_predictions[5:10000:25] = (test_labels[5:10000:25] + 3) % 10  # 4% wrong
        board.update_test(i, 0.96, 15.0, TEST_IMAGES, test_predictions, test_labels)


@pytest.fixture
def dashboard():
    renderer = renderers.Renderer("mnist_test_rung.py")
    board = Dashboard(renderer.new_figure(), "mnist_test_rung.py", ITERATIONS)
    renderer.attach(board)
    return board


@pytest.fixture
def live():
    """A dashboard drawn live, by blitting, as in a window: (dashboard, renderer)."""
    renderer = renderers.AggLiveRenderer("mnist_test_rung.py")
    board = Dashboard(renderer.new_figure(), "mnist_test_rung.py", ITERATIONS)
    renderer.attach(board)
    return board, renderer


def test_the_dashboard_needs_no_tensorflow():
    code = ("import sys; sys.path.insert(0, '.'); import matplotlib; matplotlib.use('Agg')\n"
            "from visu import renderers, dashboard, blitting, files, window\n"
            "r = renderers.AggLiveRenderer('x'); d = dashboard.Dashboard(r.new_figure(), 'x', 10)\n"
            "r.attach(d); r.frame(); print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False False", done.stderr[-2000:]


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


def test_the_digit_panels_show_their_whole_grids(dashboard):
    # each panel's limits are its grid's: the drawing pad's hidden image, on the training
    # digits' panel, must not narrow them to its own square (it did: 6 columns of 10 showed)
    for image in (dashboard.train_image, dashboard.test_image):
        left, right, bottom, top = image.get_extent()
        ax = image.axes
        assert sorted(ax.get_xlim()) == sorted((left, right)), ax.get_title()
        assert sorted(ax.get_ylim()) == sorted((bottom, top)), ax.get_title()


def test_panels_4_and_5_show_what_the_rung_asks_for():
    renderer = renderers.Renderer()
    board = Dashboard(renderer.new_figure(), "x", 100, title4="Batch-max activations",
                      title5="Logits")
    assert [ax.get_title() for ax in board.axes[3:5]] == ["Batch-max activations", "Logits"]
    assert board.axes[3].get_ylabel().startswith("values (7 bands")


def test_updates_move_the_curves_images_and_bands(dashboard):
    rng = np.random.default_rng(0)
    blank_train = dashboard.train_image.get_array().copy()
    blank_test = dashboard.test_image.picture().copy()
    for i in range(0, 201, 20):
        feed(dashboard, i, rng, spread=0.1 + i / 1000)
    changed = dashboard.refresh()
    assert changed == set(dashboard_module.GROUPS)
    assert dashboard.refresh() == set(), "nothing new: nothing to redraw"
    assert len(dashboard.train_accuracy_line.get_xdata()) == 11
    assert len(dashboard.test_loss_line.get_ydata()) == 3
    assert list(dashboard.test_accuracy_line.get_xdata()) == [0, 100, 200]
    # the bands: 7 polygons going from the first to the last update
    polygons = dashboard.bands[3].get_paths()
    assert len(polygons) == 7
    assert polygons[3].vertices[:, 0].min() == 0 and polygons[3].vertices[:, 0].max() == 200
    # the bands follow the spread of the values
    low, high = dashboard.axes[3].get_ylim()
    assert low < -0.3 and high > 0.3
    # the training digits: 3 errors on red, with the labels beside them
    train = dashboard.train_image.picture()  # (made when drawn)
    assert not np.array_equal(train, blank_train)
    cell = 28 + 2 * dashboard_module.LABEL_WIDTH + dashboard_module.GUTTER
    red = np.round(np.array(dashboard.error_rgb) * 255)
    first = train[:28, :cell - dashboard_module.GUTTER, :3]
    assert np.all(first[0, 0] == red), "an error: red background"
    assert first[:, :dashboard_module.LABEL_WIDTH].min() < 80, "the correct label, in ink"
    assert first[:, -dashboard_module.LABEL_WIDTH:].min() < 80, "the computed label"
    fourth = train[:28, 3 * cell:4 * cell - dashboard_module.GUTTER, :3]
    assert np.all(fourth[0, 0] == 255) and fourth[:, :dashboard_module.LABEL_WIDTH].min() == 255
    assert "3 errors" in dashboard.train_count.get_text()
    # the test digits: 40 errors of 1,000 (4%), first, on red
    test = dashboard.test_image.picture()  # at full size (drawn at the size it is shown)
    assert test.shape[:2] == (25 * 28, 40 * 28) and not np.array_equal(test, blank_test)
    assert np.all(test[0, :40 * 28:28, :3] == red), "the first line: 40 errors"
    assert np.all(test[28, :40 * 28:28, :3] == 255), "then the right ones"
    assert "40 errors (4.0%)" in dashboard.test_count.get_text()
    status = dashboard.status.get_text()
    assert "iteration" in status and "200 / 1,000" in status and "0.33" in status
    assert "learning rate 0.00300" in status and "test accuracy 0.9600 (best 0.9600)" in status


def test_a_single_update_shows_as_dots_and_bars(dashboard):
    """The first update, and all there is with --evaluate: a line through one point would draw
    nothing; the curves show a dot, the bands a bar, until a second update makes them lines."""
    rng = np.random.default_rng(0)
    feed(dashboard, 0, rng)
    dashboard.refresh()
    lines = (dashboard.train_accuracy_line, dashboard.test_accuracy_line,
             dashboard.train_loss_line, dashboard.test_loss_line)
    assert [line.get_marker() for line in lines] == ["o"] * 4
    bar = dashboard.bands[3].get_paths()[3].vertices
    assert bar[:, 0].min() == 0 and bar[:, 0].max() == dashboard_module.SINGLE_BAR * ITERATIONS
    assert np.ptp(bar[:, 1]) > 0, "the band has a height: the spread of the values"
    dashboard.canvas.draw()  # a bar and dots draw
    feed(dashboard, 20, rng)
    dashboard.refresh()
    assert [line.get_marker() for line in lines[::2]] == ["None"] * 2, "two points: a line"
    assert dashboard.bands[3].get_paths()[3].vertices[:, 0].max() == 20


def test_the_status_line_keeps_its_width_as_the_numbers_grow(dashboard):
    from matplotlib.backends.backend_agg import RendererAgg
    renderer = RendererAgg(1600, 900, 100)
    rng = np.random.default_rng(1)
    widths = []
    for i in (0, 20, 100, 980):
        feed(dashboard, i, rng)
        dashboard.refresh()
        widths.append(dashboard.status.get_window_extent(renderer).width)
    assert max(widths) - min(widths) < 1.0, widths


def test_the_test_grid_is_made_once_per_test_update_and_only_when_drawn(dashboard, monkeypatch):
    rng = np.random.default_rng(1)
    calls = []
    real = pictures.digit_grid
    monkeypatch.setattr(pictures, "digit_grid", lambda *a, **k: calls.append(k) or real(*a, **k))
    test_grids = lambda: sum(1 for k in calls if k.get("errors_first"))  # noqa: E731
    feed(dashboard, 0, rng)  # a test update
    feed(dashboard, 100, rng)  # another one, before any frame
    assert test_grids() == 0  # updates only keep the data: a frame is made from the latest
    assert "test digits" in dashboard.refresh()
    assert dashboard.test_count.get_text() == "40 errors (4.0%)"
    assert test_grids() == 0  # the grid is made when drawn, at the size it is shown
    dashboard.fig.canvas.draw()
    assert test_grids() == 1
    feed(dashboard, 120, rng)  # a training update only
    assert "test digits" not in dashboard.refresh()
    dashboard.fig.canvas.draw()
    assert test_grids() == 1


@pytest.mark.parametrize("key, panels", [
    ("1", [1]), ("2", [2]), ("3", [3]), ("4", [4]), ("5", [5]), ("6", [6]),
    ("7", [1, 2]), ("8", [4, 5]), ("9", [3, 6]), ("0", [1, 2, 3, 4, 5, 6]),
    ("escape", [1, 2, 3, 4, 5, 6])])
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


def test_space_toggles_the_pause_flag_until_the_run_ends(dashboard):
    press(dashboard, " ")
    dashboard.refresh()
    assert dashboard.paused and dashboard.pause_text.get_visible()
    press(dashboard, " ")
    dashboard.refresh()
    assert not dashboard.paused and not dashboard.pause_text.get_visible()
    dashboard.set_state(ending="done")
    press(dashboard, " ")
    assert not dashboard.paused, "nothing to pause once the run is over"
    dashboard.refresh()
    assert dashboard.status.get_text().endswith("done")


def test_h_gives_the_panels_their_own_limits_back(dashboard):
    rng = np.random.default_rng(4)
    loss, accuracy = dashboard.axes[1], dashboard.axes[0]
    feed(dashboard, 0, rng)
    dashboard.refresh()
    loss.set_ylim(10, 20)  # a zoom, as the toolbar makes them
    accuracy.set_xlim(100, 200)
    for i in range(20, 200, 20):
        feed(dashboard, i, rng)
    dashboard.refresh()
    assert loss.get_ylim() == (10, 20), "the data does not undo the user's zoom"
    press(dashboard, "h")
    dashboard.refresh()
    assert loss.get_ylim() == (0, 100) and loss.get_xlim() == (0, ITERATIONS)
    assert accuracy.get_xlim() == (0, ITERATIONS)


def test_the_toolbar_home_button_lets_the_panels_follow_the_data_again(dashboard):
    toolbar = NavigationToolbar2(dashboard.canvas)  # the toolbar of a window, without the window
    rng = np.random.default_rng(5)
    loss, weights = dashboard.axes[1], dashboard.axes[3]
    for i in range(0, 101, 20):
        feed(dashboard, i, rng, spread=0.1)
    dashboard.refresh()
    toolbar.push_current()  # a zoom on the loss, as the toolbar makes them
    loss.set_ylim(10, 20)
    toolbar.push_current()
    for i in range(120, 301, 20):  # the weights spread out: their panel follows them
        feed(dashboard, i, rng, spread=1.0)
    dashboard.refresh()
    assert weights.get_ylim()[1] > 2, "the weights panel follows the data during the zoom"
    toolbar.home()  # the views as before the zoom: the weights panel's old, small limits
    for i in range(320, 401, 20):
        feed(dashboard, i, rng, spread=1.0)
    dashboard.refresh()
    assert weights.get_ylim()[1] > 2, "after Home, the weights panel follows the data again"
    assert loss.get_ylim() == (0, 100), "and so does the loss panel"
    press(dashboard, "4")  # another layout: the zoom history, with the old places, is gone
    box = dashboard.axes[3].get_position().bounds
    toolbar.home()
    assert dashboard.axes[3].get_position().bounds == box


def test_live_frames_blit_and_match_a_full_drawing(live):
    board, renderer = live
    rng = np.random.default_rng(5)
    for i in range(0, 301, 20):
        feed(board, i, rng, spread=0.1 + i / 300)  # the spread grows: the band limits change
        renderer.frame()
    assert renderer.blitter.full_draws <= 2, "new limits do not need a full redraw"
    assert renderer.report()["frames"] == 16 and renderer.report()["updates_drawn"] == 16
    blitted = np.asarray(board.canvas.buffer_rgba()).copy()
    buffer = io.BytesIO()
    with files.standard_size(board):
        board.fig.savefig(buffer, format="rgba", dpi=board.fig.dpi)
    full = np.frombuffer(buffer.getbuffer(), np.uint8).reshape(blitted.shape)
    differs = np.any(np.abs(blitted.astype(int) - full) > 40, axis=2)
    assert differs.mean() < 0.003, f"{differs.mean():.2%} of the pixels differ"


def test_a_frame_redraws_only_the_groups_that_changed(live, monkeypatch):
    board, renderer = live
    rng = np.random.default_rng(6)
    feed(board, 0, rng)
    renderer.frame()
    drawn = []
    draw_artist = board.fig.draw_artist
    monkeypatch.setattr(board.fig, "draw_artist", lambda a: drawn.append(a) or draw_artist(a))
    feed(board, 20, rng)  # a training update only
    renderer.frame()
    assert board.test_image not in drawn, "the 1,000 test digits did not change"
    assert board.train_image in drawn and board.bands[3] in drawn
    # of the status line, only the characters that changed: of the iteration, 0 to 20; of
    # the epoch, 0.00 to 0.03 (and not its empty cells: nothing to draw)
    cells = [a.get_text() for a in drawn if a in board.status.artists]
    assert sorted(cells) == ["2", "3"], cells


def test_only_the_pixels_that_changed_go_to_the_screen():
    """The boxes a frame sends keep a screen equal to the canvas, and a training update sends
    a small part of it: the training digits, the curves' and bands' new ends, the status
    line's numbers (not the whole regions of the six groups that changed)."""
    board = Dashboard(renderers.Renderer("x").new_figure(), "mnist_test_rung.py", ITERATIONS)
    pixels = lambda: np.asarray(board.canvas.buffer_rgba())  # noqa: E731
    screen, sent = [], []

    def show(boxes):
        height = screen[0].shape[0]
        for box in boxes:
            x0, y0, x1, y1 = (int(v) for v in box.extents)
            screen[0][height - y1:height - y0, x0:x1] = pixels()[height - y1:height - y0, x0:x1]
        sent.append(sum(box.width * box.height for box in boxes) / board.fig.bbox.size.prod())

    blitter = blitting.BlitManager(board.canvas, board.groups, board.regions, board.cached,
                                   board.background_key, show=show)
    rng = np.random.default_rng(7)
    feed(board, 0, rng)
    blitter.update(board.refresh())  # the first frame: a full drawing, all of it on screen
    assert blitter.full_draws == 1 and not sent
    screen.append(pixels().copy())
    for i in range(20, 401, 20):
        feed(board, i, rng, spread=0.1 + i / 2000)
        blitter.update(board.refresh())
        assert np.array_equal(screen[0], pixels()), f"iteration {i}: the screen differs"
    training_only = [share for i, share in zip(range(20, 401, 20), sent) if i % 100]
    assert np.median(training_only) < 0.2, training_only  # the six regions: ~0.8


class CanvasThatCannotBlit(FigureCanvasAgg):
    """An Agg canvas that says it cannot blit, as some backends' canvases do: saving, restoring
    or blitting a region of it is an error."""

    supports_blit = False

    def copy_from_bbox(self, *args):
        raise AssertionError("copy_from_bbox on a canvas that cannot blit")

    restore_region = blit = copy_from_bbox


def test_a_canvas_that_cannot_blit_gets_whole_drawings_of_every_artist():
    renderer = renderers.AggLiveRenderer("mnist_test_rung.py")
    figure = renderer.new_figure()
    canvas = CanvasThatCannotBlit(figure)  # the figure's canvas from now on
    board = Dashboard(figure, "mnist_test_rung.py", ITERATIONS)
    renderer.attach(board)
    idle_draws = []
    draw_idle = canvas.draw_idle
    canvas.draw_idle = lambda: idle_draws.append(1) or draw_idle()  # (Agg's: a drawing at once)
    rng = np.random.default_rng(9)
    for i in range(0, 301, 20):
        feed(board, i, rng, spread=0.1 + i / 300)
        renderer.frame()
    assert len(idle_draws) == 16, "every frame: a plain draw_idle()"
    assert renderer.blitter.full_draws == 0, "no background saved"
    assert not any(artist.get_animated() for artist in renderer.blitter.artists())
    shown = np.asarray(canvas.buffer_rgba()).copy()
    buffer = io.BytesIO()
    with files.standard_size(board):
        figure.savefig(buffer, format="rgba", dpi=figure.dpi)
    drawn = np.frombuffer(buffer.getbuffer(), np.uint8).reshape(shown.shape)
    assert np.array_equal(shown, drawn), "the last frame is the whole figure, up to date"


def test_the_test_digits_are_drawn_at_the_size_they_are_shown(live, monkeypatch):
    # the 1120 x 700 grid is made at half size where its panel shows it at half size or less
    # (a quarter of the pixels to resample), and looks the same there; a zoomed panel gets the
    # whole grid
    board, renderer = live
    feed(board, 0, np.random.default_rng(8))
    renderer.frame()
    image = board.test_image
    shown = image.get_window_extent(board.canvas.get_renderer())
    assert shown.height < 350 and image.get_array().shape[:2] == (350, 560)

    def panel():  # the test digits' pixels on the canvas
        rows = board.canvas.get_width_height()[1] - np.array([shown.y1, shown.y0]).astype(int)
        return np.asarray(board.canvas.buffer_rgba())[rows[0] + 2:rows[1] - 2,
                                                      int(shown.x0) + 2:int(shown.x1) - 2, :3]
    half = panel().astype(int)
    with monkeypatch.context() as patch:
        patch.setattr(image, "reduce_for", lambda renderer: 1)
        board.canvas.draw()
        assert image.get_array().shape[:2] == (700, 1120)
        full = panel().astype(int)
    difference = np.abs(half - full)
    assert difference.mean() < 2 and np.percentile(difference, 99) < 40, (
        difference.mean(), np.percentile(difference, 99))
    press(board, "6")  # the test digits alone: shown bigger than half size
    renderer.frame()
    assert image.get_array().shape[:2] == (700, 1120)
    press(board, "0")
    renderer.frame()
    assert image.get_array().shape[:2] == (350, 560)


def test_the_digit_grids_are_resampled_to_the_pixels_they_cover(live, monkeypatch):
    # Pillow resamples each grid to its place on the screen, where matplotlib would draw it
    # (the same pixels but for the filter), once per picture; a grid partly outside its panel
    # (zoomed into) is left to matplotlib
    board, renderer = live
    feed(board, 0, np.random.default_rng(9))
    resamplings = []
    real = gridimage.resampled
    monkeypatch.setattr(gridimage, "resampled",
                        lambda *a: resamplings.append(a[1:]) or real(*a))
    renderer.frame()
    assert len(resamplings) == 2, "the training and the test digits"
    board.canvas.draw()
    assert len(resamplings) == 2, "drawn again, unchanged: their pixels are kept"
    ours = np.asarray(board.canvas.buffer_rgba())[..., :3].astype(int)
    with monkeypatch.context() as patch:
        patch.setattr(gridimage.GridImage, "_place", lambda *a: None)
        board.canvas.draw()
        theirs = np.asarray(board.canvas.buffer_rgba())[..., :3].astype(int)
    height = ours.shape[0]
    for image in (board.train_image, board.test_image):
        box = image.get_window_extent(board.canvas.get_renderer())
        rows = slice(int(height - box.y1) + 2, int(height - box.y0) - 2)
        columns = slice(int(box.x0) + 2, int(box.x1) - 2)

        def difference(dy, dx):
            shifted = np.roll(theirs, (dy, dx), axis=(0, 1))
            return np.abs(ours[rows, columns] - shifted[rows, columns]).mean()
        assert difference(0, 0) < 8, (image, difference(0, 0))
        assert difference(0, 0) < min(difference(dy, dx) for dy, dx in
                                      ((1, 0), (-1, 0), (0, 1), (0, -1))), "in the same place"
    ax = board.train_image.axes
    renderer_ = board.canvas.get_renderer()
    assert board.train_image._place(renderer_, 1.0, False) is not None
    ax.set_xlim(100, 300)  # zoomed into: partly outside the panel
    assert board.train_image._place(renderer_, 1.0, False) is None


def test_after_a_layout_change_the_frame_is_a_full_drawing(live):
    board, renderer = live
    rng = np.random.default_rng(7)
    feed(board, 0, rng)
    renderer.frame()
    draws = renderer.blitter.full_draws
    press(board, "7")
    feed(board, 20, rng)
    renderer.frame()
    assert renderer.blitter.full_draws == draws + 1
    assert board.visible_panels() == [1, 2]


def test_fast_policy_draws_within_its_time_budget(monkeypatch):
    """--fast: a frame waits DRAW_BUDGET times a frame's duration: drawing takes < ~5%."""
    renderer = renderers.AggLiveRenderer("x", every_update=False)
    board = Dashboard(renderer.new_figure(), "x", ITERATIONS)
    renderer.attach(board)
    clock = [0.0]
    monkeypatch.setattr(renderers.time, "perf_counter", lambda: clock[0])
    present = renderer.present

    def slow_present(changed):  # every frame takes 10 ms of the (fake) clock
        present(changed)
        clock[0] += 0.010
    monkeypatch.setattr(renderer, "present", slow_present)
    rng = np.random.default_rng(8)
    for k in range(400):  # 400 updates, 5 ms of training between two
        clock[0] += 0.005
        feed(board, (k * 10) % ITERATIONS, rng)
        renderer.frame()
        renderer.tick()
    report = renderer.report()
    assert report["updates_due"] == 400
    drawing = report["frames"] * 0.010
    assert drawing <= clock[0] / renderers.DRAW_BUDGET * 1.2 + 0.03
    assert report["frames"] >= 5


def test_images_have_the_standard_size_whatever_the_window(dashboard, tmp_path):
    from PIL import Image
    dashboard.fig.set_size_inches(11, 7)  # as a user's resized window
    path = str(tmp_path / "x.png")
    files.save_image(path, dashboard)
    assert Image.open(path).size == (1600, 900)
    assert tuple(dashboard.fig.get_size_inches()) == (11, 7)
    assert os.listdir(tmp_path) == ["x.png"], "no temporary file left"


# --- how the run reports, as each renderer says (the runner asks the renderer, not the mode) ---
def test_each_renderer_says_how_the_run_reports(monkeypatch):
    from visu.notebook import NotebookRenderer, WidgetRenderer

    def reporting(renderer):
        return renderer.text_lines, renderer.progress_line, renderer.exits_the_script

    monkeypatch.setattr(flags, "in_notebook", lambda: False)
    assert reporting(renderers.choose("text")) == (True, False, True)
    assert reporting(renderers.AggLiveRenderer()) == (True, False, True), "measured, not seen"
    assert reporting(window.WindowRenderer()) == (False, False, True), "the status line says it"
    assert reporting(NotebookRenderer()) == (False, True, False), "a kernel outlives the script"
    assert reporting(WidgetRenderer()) == (False, True, False)
    spyder = renderers.choose("spyder")
    assert not spyder.live and spyder.on_screen, "the dashboard, once, at the end"
    assert reporting(spyder) == (True, False, False)
    monkeypatch.setattr(flags, "in_notebook", lambda: True)  # --text in a notebook
    assert reporting(renderers.choose("text")) == (True, False, False)


def test_ctrl_s_saves_a_snapshot_in_the_current_folder(dashboard, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from visu.window import WindowRenderer
    monkeypatch.chdir(tmp_path)
    window = WindowRenderer("mnist_test_rung.py")
    window.dashboard = dashboard
    feed(dashboard, 20, np.random.default_rng(3))
    path = tmp_path / "mnist_test_rung-20.png"
    assert window.save_snapshot() == str(path)
    assert str(path) in capsys.readouterr().out
    assert Image.open(path).size == (1600, 900)
    assert os.listdir(tmp_path) == [path.name], "no temporary file left"
    os.chmod(tmp_path, 0o500)  # a folder the learner cannot write to
    try:
        if not os.access(tmp_path, os.W_OK):  # (root can write anywhere)
            feed(dashboard, 40, np.random.default_rng(4))
            assert window.save_snapshot() is None
            assert "error: cannot save" in capsys.readouterr().err
    finally:
        os.chmod(tmp_path, 0o700)


def test_a_zooms_the_accuracy_panel_to_its_top_band_and_back(dashboard):
    accuracy = dashboard.axes[0]
    press(dashboard, "a")
    assert accuracy.get_ylim() == (0.9, 1.0)
    press(dashboard, "a")
    assert accuracy.get_ylim() == (0, 1)
    press(dashboard, "a")
    press(dashboard, "h")
    assert accuracy.get_ylim() == (0, 1), "H: the codelab's view"


def test_the_keys_line_names_what_panels_4_and_5_show():
    renderer = renderers.Renderer()
    default = Dashboard(renderer.new_figure(), "x", 10)
    other = Dashboard(renderer.new_figure(), "x", 10, title4="Activations", title5="Logits")
    assert "8 weights+biases" in default.keys_text.get_text()
    assert "8 panels 4+5" in other.keys_text.get_text()


def test_other_data_sets_get_their_word_and_class_names():
    renderer = renderers.Renderer()
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]
    board = Dashboard(renderer.new_figure(), "x", 10, noun="images", classes=classes)
    assert [ax.get_title() for ax in board.axes][2::3] == ["Training images", "Test images"]
    legend = board.axes[2].get_xlabel().splitlines()
    assert legend[1:] == ["0 T-shirt/top   1 Trouser   2 Pullover   3 Dress   4 Coat",
                          "5 Sandal   6 Shirt   7 Sneaker   8 Bag   9 Ankle boot"]
    assert "10,000 images" in board.test_accuracy_line.get_label()
    assert "1,000 test images" in board.axes[5].get_xlabel()


# --- the window's fallbacks, without a window ---------------------------------------------------
def test_a_resized_window_scales_the_whole_dashboard():
    """A window's canvas, resized, keeps its dpi and changes the figure's inches; the
    dashboard's window then changes the dpi instead, so that text and lines scale with it."""
    from matplotlib.backend_bases import ResizeEvent
    from matplotlib.figure import Figure
    figure = Figure(figsize=(16, 9), dpi=100)
    FigureCanvasAgg(figure)
    with matplotlib.rc_context({"figure.figsize": (16, 9)}):
        window.scale_with_the_window(figure)

    def resize(width, height):  # what a window's canvas does, then its resize event
        figure.set_size_inches(width / figure.dpi, height / figure.dpi, forward=False)
        figure.canvas.callbacks.process("resize_event", ResizeEvent("resize_event", figure.canvas))
        assert tuple(figure.bbox.size) == (width, height), "the window keeps its size"

    resize(960, 540)  # beside an editor, half a 1920-pixel screen
    assert figure.dpi == 60 and np.allclose(figure.get_size_inches(), (16, 9))
    resize(800, 900)  # tall: the width decides
    assert figure.dpi == 50 and np.allclose(figure.get_size_inches(), (16, 18))
    resize(40, 30)
    assert figure.dpi == window.MIN_DPI
    resize(2560, 1440)
    assert figure.dpi == 160


def test_without_a_display_or_xlib_a_destroyed_window_is_left_to_the_toolkit(monkeypatch):
    monkeypatch.setattr(window, "_handlers", [])
    monkeypatch.delenv("DISPLAY", raising=False)
    assert window.survive_window_destruction(lambda: None) is False
    monkeypatch.setenv("DISPLAY", ":0")

    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert window.survive_window_destruction(lambda: None) is False
    monkeypatch.setattr(ctypes, "CDLL", lambda name: types.SimpleNamespace())  # no such functions
    assert window.survive_window_destruction(lambda: None) is False
    assert window._handlers == [], "nothing installed"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11 only")
def test_with_xlib_the_handlers_are_installed_once(monkeypatch):
    """The fallbacks above are no accident: where Xlib loads, the handlers go in (here into a
    stand-in for Xlib, which records them)."""
    installed = []
    xlib = types.SimpleNamespace(XSetErrorHandler=lambda handler: installed.append(handler),
                                 XSetIOErrorHandler=lambda handler: installed.append(handler))
    monkeypatch.setattr(window, "_handlers", [])
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: xlib)
    assert window.survive_window_destruction(lambda: None) is True
    assert installed == window._handlers and len(installed) == 2
    assert installed[0](None, None) == 0, "an X error on a window that is no more: ignored"
    assert window.survive_window_destruction(lambda: None) is False, "once"


def test_without_tkinter_a_destroyed_window_raises_runtime_errors(monkeypatch):
    monkeypatch.delitem(sys.modules, "tkinter", raising=False)
    assert window.toolkit_errors() == (RuntimeError,)
    tkinter = types.ModuleType("tkinter")
    tkinter.TclError = type("TclError", (Exception,), {})
    monkeypatch.setitem(sys.modules, "tkinter", tkinter)
    assert window.toolkit_errors() == (tkinter.TclError,)
