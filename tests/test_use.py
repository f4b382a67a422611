"""Using a run and its network: TensorBoard logs (--logdir), saved weights (--save-weights,
--load-weights, --evaluate), --predict on images, and the drawing pad (key D)."""

import glob
import os

import numpy as np
import pytest

from conftest import MAX_LINE, MNIST_DIR, last_line, real_data, run_rung

pytestmark = real_data


def final_accuracy(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("final test accuracy"))
    return line.split()[3]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Rung 1.0 trained 300 iterations, its weights saved: (path, its final test accuracy)."""
    path = str(tmp_path_factory.mktemp("weights") / "softmax.npz")
    result = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "300", "--save-weights", path)
    assert result.returncode == 0, result.stderr
    assert f"saved {path}" in result.stdout and os.listdir(os.path.dirname(path)) == ["softmax.npz"]
    return path, final_accuracy(result.stdout)


def test_save_then_load_reproduces_the_test_accuracy(saved):
    path, accuracy = saved
    result = run_rung("mnist_1.0_softmax.py", "--text", "--load-weights", path, "--evaluate")
    assert result.returncode == 0, result.stderr
    assert f"loaded the weights saved by mnist_1.0_softmax.py from {path}" in result.stdout
    assert final_accuracy(result.stdout) == accuracy
    assert "after 0 iterations" in result.stdout and MAX_LINE.match(last_line(result.stdout))


def test_weights_of_another_rung_or_a_damaged_file_are_one_line(saved, tmp_path):
    path, _ = saved
    other = run_rung("mnist_2.0_five_layers_sigmoid.py", "--text", "--load-weights", path, "--evaluate")
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert last_line(other.stderr) == (f"error: {path} holds the weights of another network (saved "
                                       "by mnist_1.0_softmax.py, not mnist_2.0_five_layers_sigmoid.py)"
                                       ": W1 is missing")
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(open(path, "rb").read()[:200])
    result = run_rung("mnist_1.0_softmax.py", "--text", "--load-weights", str(damaged), "--evaluate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result.stderr).startswith(f"error: {damaged} is not a weights file saved with "
                                               "--save-weights, or it is damaged")


def test_evaluate_needs_weights_and_weights_need_npz():
    for flags, message in ((["--evaluate"], "--evaluate needs --load-weights FILE.npz"),
                           (["--save-weights", "w.h5"], "a weights file must end in .npz")):
        result = run_rung("mnist_1.0_softmax.py", "--text", *flags)
        assert result.returncode == 2 and message in result.stderr


def test_predict_classifies_pictures_of_test_digits(saved, tmp_path):
    import mnistdata
    from PIL import Image
    path, _ = saved
    test = mnistdata.read_data_sets(MNIST_DIR, one_hot=False).test
    images = []
    for k, size in ((0, 90), (1, 200), (2, 56)):  # any size, dark ink on light paper
        image = Image.fromarray((255 - 255 * test.images[k, :, :, 0]).astype(np.uint8))
        images.append(str(tmp_path / f"digit{k}.png"))
        image.resize((size, size), Image.Resampling.BILINEAR).convert("RGB").save(images[-1])
    result = run_rung("mnist_1.0_softmax.py", "--text", "--load-weights", path, "--evaluate",
                      "--predict", *images)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("digit")]
    for k, line in enumerate(lines):
        assert line.startswith(f"digit{k}.png: {test.labels[k]} (")
        assert line.count("%") == 13  # the best, the two next, then all ten
    assert MAX_LINE.match(last_line(result.stdout)), "the summary stays the last line"


def test_predict_refuses_a_file_that_is_no_image(saved, tmp_path):
    path, _ = saved
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = run_rung("mnist_1.0_softmax.py", "--text", "--load-weights", path, "--evaluate",
                      "--predict", str(text))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result.stderr).startswith(f"error: --predict: cannot read {text} as an image")


def events(folder):
    """{tag: [steps]} of the summaries in a TensorBoard folder, and the histograms' tags."""
    import tensorflow as tf
    steps, histograms = {}, set()
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
                if value.metadata.plugin_data.plugin_name == "histograms":
                    histograms.add(value.tag)
    return steps, histograms


def test_logdir_writes_curves_and_histograms_for_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    result = run_rung("mnist_4.1_batchnorm_five_layers_relu.py", "--text", "--iterations", "40",
                      "--logdir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [run] = os.listdir(tmp_path)
    assert run.startswith("mnist_4.1_batchnorm_five_layers_relu-")
    assert f"TensorBoard logs: {tmp_path / run}" in result.stdout
    train, train_histograms = events(tmp_path / run / "train")
    test, test_histograms = events(tmp_path / run / "test")
    assert train["accuracy"] == train["cross-entropy loss"] == train["learning rate"] == [0, 20, 40]
    assert test["accuracy"] == test["cross-entropy loss"] == [0, 20, 40]
    assert train_histograms == {"weights", "biases", "Weighted sums, before BN",
                                "Batch-max activations"}
    assert not test_histograms


def test_nothing_is_written_without_the_flags(tmp_path):
    result = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "20", cwd=tmp_path)
    assert result.returncode == 0 and os.listdir(tmp_path) == []


# --- the drawing pad, through real mouse events on an offscreen canvas ------------------------------
@pytest.fixture(scope="module")
def trained_dashboard():
    """Rung 1.0 trained 500 iterations in this process, its finished dashboard offscreen."""
    import matplotlib
    matplotlib.use("Agg")
    from visu import ladder, renderers
    from visu.dashboard import Dashboard
    from visu.training import Trainer
    rung = ladder.load("1.0")
    trainer = Trainer(rung["training_step"], rung["mnist"].train)
    for _ in range(25):
        trainer.train(20)
    renderer = renderers.Renderer("mnist_1.0_softmax.py")
    board = Dashboard(renderer.new_figure(), "mnist_1.0_softmax.py", 500)
    board.pad.predict = lambda image: np.asarray(
        rung["evaluate"](image.reshape(1, 28, 28, 1), np.zeros((1, 10), np.float32))[0])[0]
    board.set_state(ending="done")
    board.canvas.draw()
    return board


def mouse(board, name, x, y, button=1):
    """A mouse event at pad coordinates (x, y) in [0, 1], as a window would deliver it."""
    from matplotlib.backend_bases import MouseEvent
    ax, size = board.axes[2], board.pad.size
    px, py = ax.transData.transform((x * size, y * size))
    board.canvas.callbacks.process(name, MouseEvent(name, board.canvas, px, py, button=button))


def draw(board, points):
    mouse(board, "button_press_event", *points[0])
    for point in points[1:]:
        mouse(board, "motion_notify_event", *point)
    mouse(board, "button_release_event", *points[-1])


def key(board, name):
    from matplotlib.backend_bases import KeyEvent
    board.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", board.canvas, name))


def test_the_drawing_pad_reads_a_drawn_one_and_a_drawn_zero(trained_dashboard):
    board = trained_dashboard
    key(board, "d")
    assert board.pad.active and not board.train_image.get_visible()
    draw(board, [(0.5, 0.15), (0.5, 0.5), (0.52, 0.85)])  # a stroke, top to bottom: a 1
    assert board.pad.ink.max() > 0.9 and board.pad.ink[:, :10].max() < 0.01  # inked in the middle
    probabilities = board.pad.probabilities()
    assert int(np.argmax(probabilities)) == 1
    assert [bar.get_width() for bar in board.pad.bars] == pytest.approx(list(probabilities))
    key(board, "c")
    assert not board.pad.ink.any() and not any(bar.get_width() for bar in board.pad.bars)
    angles = np.linspace(0, 2 * np.pi, 40)  # a ring: a 0
    draw(board, list(zip(0.5 + 0.22 * np.cos(angles), 0.5 + 0.32 * np.sin(angles))))
    assert int(np.argmax(board.pad.probabilities())) == 0
    key(board, "d")
    assert not board.pad.active and board.train_image.get_visible()


def test_the_pad_waits_for_the_end_or_a_pause(capsys):
    import matplotlib
    matplotlib.use("Agg")
    from visu import renderers
    from visu.dashboard import Dashboard
    board = Dashboard(renderers.Renderer().new_figure(), "x", 100)
    key(board, "d")
    assert not board.pad.active and "pause first (Space)" in capsys.readouterr().out
    key(board, " ")
    key(board, "d")
    assert board.pad.active
