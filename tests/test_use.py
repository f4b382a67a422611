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
    assert result.stdout.startswith(f"mnist_1.0_softmax.py: testing the network of {path} on MNIST")
    assert "no training; loading TensorFlow" in result.stdout.splitlines()[0]
    assert "s: testing on the " in result.stdout and "iterations on MNIST" not in result.stdout
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


def test_weights_of_another_rung_with_the_same_variables_are_refused(tmp_path):
    """Rungs 2.1 and 2.2 have the same variables, names and shapes: the rung that saved the file
    decides. (The file is saved in this process, as the runner saves it at the end of a run.)"""
    from visu import ladder, weights
    relu, dropout = ladder.RUNGS["2.1"], ladder.RUNGS["2.2"]
    path = str(tmp_path / "relu.npz")
    weights.save(path, weights.variables_of(ladder.load("2.1")), relu)
    result = run_rung(dropout, "--text", "--load-weights", path, "--iterations", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert last_line(result.stderr) == (f"error: {path} holds the weights of another rung (saved "
                                        f"by {relu}, not {dropout}): load them with {relu}")


def test_save_then_load_reproduces_a_batchnorm_network_exactly(tmp_path):
    """Rung 4.1 trained 30 iterations, saved, then loaded into a fresh copy of the rung: every
    variable, the moving averages A1...A4 included (not trained, but moved by training; the
    tests use them), and so every test output, are the same to the last bit."""
    import tensorflow as tf
    from visu import ladder, weights
    script = ladder.RUNGS["4.1"]
    trained = ladder.load("4.1")
    for i in range(30):
        trained["training_step"](*trained["mnist"].train.next_batch(100), tf.constant(float(i)))
    trained_variables = weights.variables_of(trained)
    assert {"A1.0", "A1.1", "A4.0", "A4.1"} <= set(trained_variables)
    path = str(tmp_path / "batchnorm.npz")
    weights.save(path, trained_variables, script)

    fresh = ladder.load("4.1")
    fresh_variables = weights.variables_of(fresh)
    assert not np.array_equal(fresh_variables["A1.0"].numpy(), trained_variables["A1.0"].numpy())
    assert weights.load(path, fresh_variables, script) == script
    for name, variable in trained_variables.items():
        assert np.array_equal(fresh_variables[name].numpy(), variable.numpy()), name
    test = trained["mnist"].test
    probabilities, accuracy, loss = trained["evaluate"](test.images, test.labels)[:3]
    again = fresh["evaluate"](test.images, test.labels)[:3]
    assert np.array_equal(again[0].numpy(), probabilities.numpy())
    assert (again[1].numpy(), again[2].numpy()) == (accuracy.numpy(), loss.numpy())
    assert 0.5 < accuracy.numpy() < 1  # trained, and not by chance


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
    assert train["accuracy"] == train["cross-entropy loss"] == [0, 20, 40]
    assert train["learning rate"] == [20, 40]  # the rate of the last step: none before the first
    assert test["accuracy"] == test["cross-entropy loss"] == [0, 20, 40]
    assert train_histograms == {"weights", "biases", "Weighted sums, before BN",
                                "Batch-max activations"}
    assert not test_histograms


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    from visu import tensorboard
    monkeypatch.setattr(tensorboard.time, "strftime", lambda format: "20250102-030405")
    logs = [tensorboard.TensorBoardLog(str(tmp_path), "mnist_1.0_softmax.py") for _ in range(3)]
    for log in logs:
        log.close()
    base = str(tmp_path / "mnist_1.0_softmax-20250102-030405")
    assert [log.path for log in logs] == [base, f"{base}-2", f"{base}-3"]
    assert sorted(os.listdir(f"{base}-3")) == ["test", "train"]


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


def test_fashion_images_fill_their_frame_on_the_pad_and_in_predict(tmp_path, capsys):
    """Fashion-MNIST's images fill 28x28, MNIST's digits a 20x20 box in it: a drawing, on the
    pad or in a picture for --predict, is scaled as the training images are."""
    import matplotlib
    matplotlib.use("Agg")
    from types import SimpleNamespace

    import mnistdata
    from PIL import Image
    from visu import predict, renderers
    from visu.dashboard import Dashboard
    from visu.runner import MnistDataVis
    fashion = mnistdata.DATASETS["fashion"].classes
    assert predict.box_for(fashion) == 28 and predict.box_for(predict.DIGITS) == 20

    def height(image):
        """The rows of the image that hold ink."""
        rows = np.nonzero(image.max(axis=1) > 0.15)[0]
        return rows.max() - rows.min() + 1

    seen = []  # the images given to the network

    def network(images):
        seen.extend(np.asarray(images).reshape(-1, 28, 28))
        return np.full((len(images), 10), 0.1)  # no opinion: the images are the point

    board = Dashboard(renderers.Renderer().new_figure(), "x", 100, noun="images", classes=fashion)
    board.pad.predict = lambda image: network(image[None])[0]
    board.set_state(ending="done")
    board.canvas.draw()
    key(board, "d")
    draw(board, [(0.5, 0.3), (0.5, 0.7)])  # a short upright stroke: a trouser leg, say
    assert height(board.pad.ink) < 16 and height(seen[-1]) >= 26
    assert height(predict.like_training_images(board.pad.ink, predict.DIGITS)) <= 21

    picture = str(tmp_path / "stroke.png")
    Image.fromarray(np.round(255 * (1 - board.pad.ink)).astype(np.uint8)).save(picture)
    run = SimpleNamespace(mnist=SimpleNamespace(classes=fashion),
                          args=SimpleNamespace(predict=[picture]), predict=network)
    MnistDataVis._predictions(run)  # --predict, at the end of a run
    assert height(seen[-1]) >= 26 and capsys.readouterr().out.startswith("stroke.png: ")
