"""The runner, in-process, on a tiny softmax model and made-up digits: the schedule, the text
lines, pause, and every ending going through the one finish. (And rung 1.0 as a subprocess, for
its threads' priorities.)"""

import os
import re
import signal
import threading
import time
import types

import numpy as np
import pytest

from conftest import real_data, start_rung

os.environ.setdefault("MPLBACKEND", "Agg")
tf = pytest.importorskip("tensorflow")

import mnistdata  # noqa: E402
from visu import flags, runner, training  # noqa: E402


@pytest.fixture(autouse=True)
def signal_handlers():
    """A run that ends the program (a signal, a NaN) ignores the signals that come while it
    shuts down: put the handlers back for the tests that follow."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def tiny_mnist(n=300):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[np.arange(n), labels * 2 + 4, 10:18, 0] = 1.0  # a bar whose height is the label
    one_hot = np.eye(10, dtype=np.float32)[labels]
    return types.SimpleNamespace(train=mnistdata.DataSet(images, one_hot),
                                 test=mnistdata.DataSet(images[:100], one_hot[:100]))


def make_rung(nan_at=None, fail_at=None, extra_outputs=False):
    """What a rung hands to animate, for a 784 -> 10 softmax that counts its steps; with nan_at
    its weights turn to NaN at that iteration, with fail_at its step raises (a bug)."""
    import keras
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    steps = tf.Variable(0, dtype=tf.int64)

    def model(X):
        Ylogits = tf.matmul(tf.reshape(X, [-1, 784]), W) + b
        return Ylogits, tf.nn.softmax(Ylogits)

    def cross_entropy(Ylogits, Y_):
        entropies = tf.nn.softmax_cross_entropy_with_logits(logits=Ylogits, labels=Y_)
        return tf.reduce_mean(entropies) * 100

    @tf.function
    def evaluate(X, Y_):
        Ylogits, Y = model(X)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1)), tf.float32))
        if extra_outputs:  # panels 4 and 5: the logits, and 1000 + the probabilities
            return Y, accuracy, cross_entropy(Ylogits, Y_), [Ylogits], [Y + 1000]
        return Y, accuracy, cross_entropy(Ylogits, Y_)

    @tf.function
    def training_step(X, Y_, i):
        steps.assign_add(1)
        if fail_at is not None:
            tf.debugging.assert_less(i, float(fail_at), message="a bug in training_step")
        with tf.GradientTape() as tape:
            Ylogits, Y = model(X)
            loss = cross_entropy(Ylogits, Y_)
        optimizer.apply_gradients(zip(tape.gradient(loss, [W, b]), [W, b]))
        if nan_at is not None and i >= nan_at:
            W.assign(W * float("nan"))

    return types.SimpleNamespace(training_step=training_step, evaluate=evaluate, W=W, b=b,
                                 optimizer=optimizer, steps=steps)


def arguments(*flag_list, iterations=45, mode="text"):
    args = flags.parse("test", list(flag_list), iterations=iterations)
    args.mode, args.script = mode, "mnist_test_rung.py"
    return args


def animate(args, rung, mnist=None, train=10, test=20, **kwargs):
    datavis = runner.MnistDataVis(args, **kwargs)
    datavis.animate(rung.training_step, rung.evaluate, mnist or tiny_mnist(), [rung.W], [rung.b],
                    rung.optimizer.learning_rate, train_data_update_freq=train,
                    test_data_update_freq=test)
    return datavis


def test_update_points_follow_the_schedule():
    points = training.update_points(45, 10, 20, more_tests_at_start=False)
    assert points == {0: (True, True), 10: (True, False), 20: (True, True), 30: (True, False),
                      40: (True, True), 45: (True, True)}
    dense = training.update_points(100, 10, 50, more_tests_at_start=True)
    assert [i for i, (_, test) in dense.items() if test] == [0, 10, 20, 30, 40, 50, 100]


def test_the_runner_trains_every_step_once_and_reports_on_schedule(capsys):
    rung = make_rung()
    datavis = animate(arguments(), rung)
    out = capsys.readouterr().out
    assert int(rung.steps.numpy()) == 45
    assert re.findall(r"^(\d+): accuracy", out, re.M) == ["0", "10", "20", "30", "40", "45"]
    assert re.findall(r"^(\d+): \*+ epoch", out, re.M) == ["0", "20", "40", "45"]
    best = datavis.get_max_test_accuracy()
    assert out.strip().splitlines()[-1] == f"max test accuracy: {best:.4f}"
    assert datavis.get_max_test_accuracy() > 0.5, "it learns the bars"
    assert "(lr: 0.05)" in out
    # no learning rate before the first step: the optimizer's initial one was not used
    assert re.search(r"^0: accuracy: [\d.]+ loss: [\d.]+$", out, re.M)


def test_iterations_flag_overrides_the_rung(capsys):
    rung = make_rung()
    animate(arguments("--iterations", "7", iterations=1000), rung)
    assert int(rung.steps.numpy()) == 7
    assert "final test accuracy: " in capsys.readouterr().out


def test_trainer_draws_batches_and_counts_iterations():
    rung = make_rung()
    trainer = training.Trainer(rung.training_step, tiny_mnist().train)
    trainer.train(1)
    trainer.train(30)
    trainer.train(5)
    assert trainer.i == 36 == int(rung.steps.numpy())
    assert trainer.last_batch[0].shape == (100, 28, 28, 1)


def test_a_nan_loss_ends_the_run_with_its_files_and_an_explanation(capsys, tmp_path):
    rung = make_rung(nan_at=12)
    image, movie = tmp_path / "x.png", tmp_path / "x.gif"
    args = arguments("--iterations", "100", "--save-image", str(image), "--save-movie", str(movie))
    with pytest.raises(SystemExit) as stop:
        animate(args, rung, train=10, test=50)
    assert stop.value.code == 1
    out, err = capsys.readouterr()
    assert "loss became NaN at iteration 20" in err and "softmax_cross_entropy_with_logits" in err
    assert int(rung.steps.numpy()) == 20  # stopped at the first report after the NaN
    assert out.strip().splitlines()[-1].startswith("max test accuracy: ")
    assert image.stat().st_size > 10000 and movie.stat().st_size > 10000
    from PIL import Image
    with Image.open(movie) as gif:
        assert gif.n_frames == 2  # iterations 0 and 10: the NaN update is not drawn
    assert sorted(os.listdir(tmp_path)) == ["x.gif", "x.png"], "no temporary file left"


def test_a_bug_shows_its_traceback_and_leaves_no_temporary_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TFVISU_XLA", "0")  # XLA leaves assertions out: the bug would not show
    rung = make_rung(fail_at=12)
    args = arguments("--iterations", "100", "--save-movie", str(tmp_path / "x.gif"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="a bug in training_step"):
        animate(args, rung)
    assert os.listdir(tmp_path) == [], "no movie, no .part file"


def test_an_empty_movie_is_removed(capsys, tmp_path):
    rung = make_rung()
    args = arguments("--iterations", "100", "--save-movie", str(tmp_path / "x.gif"))

    def interrupt_at_once(*a, **k):
        raise KeyboardInterrupt
    datavis = runner.MnistDataVis(args)
    original = runner.MnistDataVis._train_update
    runner.MnistDataVis._train_update = interrupt_at_once
    try:
        with pytest.raises(SystemExit) as stop:
            datavis.animate(rung.training_step, rung.evaluate, tiny_mnist(), [rung.W], [rung.b],
                            None)
        assert stop.value.code == 0
    finally:
        runner.MnistDataVis._train_update = original
    assert os.listdir(tmp_path) == [], "nothing was recorded: no movie"
    assert capsys.readouterr().out.strip().splitlines()[-1] == "max test accuracy: 0.0000"


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 0), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_run_through_the_finish(signum, status, capsys, tmp_path):
    rung = make_rung()
    image = tmp_path / "x.png"
    args = arguments("--iterations", "100000", "--save-image", str(image), iterations=100000)
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signum))
    timer.start()
    try:
        with pytest.raises(SystemExit) as stop:
            animate(args, rung)
        assert stop.value.code == status
    finally:
        timer.cancel()
    assert signal.getsignal(signum) == signal.SIG_IGN, "another one, as the program ends: harmless"
    out, err = capsys.readouterr()
    assert "stopped at iteration" in err
    assert ("Ctrl-C" if signum == signal.SIGINT else "SIGTERM") in err
    assert out.strip().splitlines()[-1].startswith("max test accuracy: ")
    assert os.listdir(tmp_path) == ["x.png"]


def test_in_spyder_text_lines_then_the_dashboard_once_and_a_nan_leaves_the_kernel(capsys,
                                                                                   monkeypatch):
    """The renderer says how the run reports, not the mode: in Spyder's console (a kernel whose
    images cannot be replaced) text lines, the final dashboard once, and no sys.exit."""
    display = pytest.importorskip("IPython.display")
    shown = []
    monkeypatch.setattr(display, "display", lambda image, **kwargs: shown.append(image))
    animate(arguments(mode="spyder"), make_rung())
    out = capsys.readouterr().out
    assert re.findall(r"^(\d+): accuracy", out, re.M) == ["0", "10", "20", "30", "40", "45"]
    assert len(shown) == 1 and shown[0].data[:4] == b"\x89PNG", "the last frame, once"
    datavis = animate(arguments("--iterations", "100", mode="spyder"), make_rung(nan_at=12))
    assert datavis.ending.status == 1, "ended, and the kernel goes on"
    assert "loss became NaN" in capsys.readouterr().err


# --- with a live dashboard, offscreen (as in a window, TFVISU_FORCE_DASHBOARD=1) ---------------
@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv("TFVISU_FORCE_DASHBOARD", "1")


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        time.sleep(0.01)
    return condition()


def test_space_stops_training_until_space_again(live, capsys):
    from matplotlib.backend_bases import KeyEvent
    rung = make_rung()
    datavis = runner.MnistDataVis(arguments(iterations=3000))
    seen = {}

    def press(key):
        canvas = datavis.dashboard.canvas
        canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, key))

    def learner():
        assert wait_for(lambda: int(rung.steps.numpy()) >= 20)
        press(" ")
        count, deadline = -1, time.time() + 10
        while int(rung.steps.numpy()) != count and time.time() < deadline:  # the chunk ends
            count = int(rung.steps.numpy())
            time.sleep(0.3)
        seen["paused at"] = count
        time.sleep(1.0)
        seen["a second later"] = int(rung.steps.numpy())
        press(" ")

    helper = threading.Thread(target=learner)
    helper.start()
    datavis.animate(rung.training_step, rung.evaluate, tiny_mnist(), [rung.W], [rung.b], None)
    helper.join(10)
    assert seen["paused at"] == seen["a second later"] < 3000, seen
    assert int(rung.steps.numpy()) == 3000 and datavis.interrupted_at is None


def test_closing_the_window_stops_the_run_cleanly(live, capsys):
    from matplotlib.backend_bases import CloseEvent
    rung = make_rung()
    datavis = runner.MnistDataVis(arguments(iterations=100000))

    def learner():
        assert wait_for(lambda: int(rung.steps.numpy()) >= 50)
        canvas = datavis.dashboard.canvas
        canvas.callbacks.process("close_event", CloseEvent("close_event", canvas))

    helper = threading.Thread(target=learner)
    helper.start()
    datavis.animate(rung.training_step, rung.evaluate, tiny_mnist(), [rung.W], [rung.b], None)
    helper.join(10)
    assert 50 <= datavis.interrupted_at < 100000
    out, err = capsys.readouterr()
    assert "stopped at iteration" in err and "window closed" in err
    assert out.strip().splitlines()[-1].startswith("max test accuracy: ")


def test_every_update_is_drawn_in_a_live_dashboard(live, capsys):
    rung = make_rung()
    datavis = animate(arguments(iterations=200), rung, train=10, test=50)
    report = datavis.renderer.report()
    assert report["updates_due"] == report["updates_drawn"] == 21  # 0, 10, ... 200
    assert "updates drawn 21/21" in capsys.readouterr().err


def test_the_first_frame_is_drawn_before_training_and_the_others_while_it_goes_on(live, capsys,
                                                                                  monkeypatch):
    """The first chunk traces the training step in Python: the first frame, also Python, is not
    drawn beside it (sharing Python's lock, both took longer); the later frames are."""
    from visu import renderers
    rung = make_rung()
    training = []  # at each frame: whether a chunk is under way
    draw = renderers.LiveRenderer._draw

    def spying_draw(renderer):
        training.append(datavis.chunk is not None)
        draw(renderer)
    monkeypatch.setattr(renderers.LiveRenderer, "_draw", spying_draw)
    datavis = runner.MnistDataVis(arguments(iterations=50))
    datavis.animate(rung.training_step, rung.evaluate, tiny_mnist(), [rung.W], [rung.b], None,
                    train_data_update_freq=10, test_data_update_freq=50)
    # iterations 0 (alone), 10 to 40 (the next chunk training), 50 (the last: nothing to train),
    # then the final frame
    assert training == [False, True, True, True, True, False, False]


def thread_niceness(pid):
    """{thread id: nice value} of a running process's threads (Linux's /proc)."""
    values = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                values[int(tid)] = int(stat.read().rsplit(")", 1)[1].split()[16])
        except (OSError, IndexError):  # the thread has just ended
            pass
    return values


# threads' priorities can be lowered (and read in /proc) here
room_to_lower = pytest.mark.skipif(not os.path.isdir("/proc/self/task") or os.nice(0) > 9,
                                   reason="Linux's /proc, and room below this test's priority")


@real_data
@room_to_lower
@pytest.mark.parametrize("rung, flags, training_lowered", [
    # rung 1.0 trains its 10 iterations in ~2 ms, then waits for the frame (~10 ms)
    ("mnist_1.0_softmax.py", ["--iterations", "400"], True),
    # a frame now and then
    ("mnist_1.0_softmax.py", ["--iterations", "400", "--fast"], False),
    # rung 3.0's 20 take ~150 ms: its frames are drawn while it trains, nothing waits for them
    ("mnist_3.0_convolutional.py", ["--iterations", "200"], False)])
def test_drawing_every_update_the_training_threads_give_way_to_the_frames_they_wait_for(
        rung, flags, training_lowered):
    run = start_rung(rung, *flags, env={"TFVISU_FORCE_DASHBOARD": "1", "MPLBACKEND": "Agg"})
    highest = {}  # the highest nice value each thread had
    try:
        while run.poll() is None:
            try:
                for tid, nice in thread_niceness(run.pid).items():
                    highest[tid] = max(nice, highest.get(tid, nice))
            except OSError:  # the process has just ended
                break
            time.sleep(0.02)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 0, err
    started_at = os.nice(0)  # the rung's threads start at this test's (0, unless run by `nice`)
    lowered = [tid for tid, nice in highest.items() if nice == started_at + 10]
    assert highest[run.pid] == started_at, "the main thread, which draws, keeps its priority"
    if training_lowered:  # the training thread and TensorFlow's (two or more)
        assert len(lowered) >= 3, highest
    else:  # training keeps its priority
        assert lowered == [], highest


@room_to_lower
@pytest.mark.parametrize("held_up, lowered", [
    ([False] * 10, False), ([True, False, False] * 4, False),
    ([True, False, True, False, True], True), ([False, True, True, False, True], True),
    ([True, True, True], True)])
def test_training_gives_way_once_it_waited_for_the_drawing_at_3_of_the_last_5_frames(
        held_up, lowered):
    from visu import priority
    gives_way = priority.TrainingGivesWay()
    started, done = threading.Event(), threading.Event()
    tids = []

    def training():
        gives_way.note_this_thread()
        tids.append(threading.get_native_id())
        started.set()
        done.wait(10)
    thread = threading.Thread(target=training)
    thread.start()
    try:
        started.wait(10)
        for frame in held_up:
            gives_way.after_frame(frame)
        assert gives_way.lowered == lowered
        assert os.getpriority(os.PRIO_PROCESS, tids[0]) == os.nice(0) + 10 * lowered
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.nice(0)
    finally:
        done.set()
        thread.join()


def test_evaluate_may_choose_what_panels_4_and_5_show(capsys, tmp_path):
    rung = make_rung(extra_outputs=True)
    args = arguments("--save-image", str(tmp_path / "x.png"), iterations=20)
    datavis = animate(args, rung, title4="Logits", title5="Probabilities + 1000")
    board = datavis.dashboard
    assert [ax.get_title() for ax in board.axes[3:5]] == ["Logits", "Probabilities + 1000"]
    low, high = board.axes[4].get_ylim()
    assert 999 <= low < 1000 and 1001 < high <= 1002, "the probabilities + 1000, not the biases"


# --- the training loop's speed levers: no retracing, the same batches, XLA where it pays --------
def test_the_multi_step_function_is_traced_once_whatever_the_chunks(capsys):
    rung = make_rung()
    trainer = training.Trainer(rung.training_step, tiny_mnist().train)
    for steps in (1, 19, 20, 7, 40, 20, 3):  # the first step alone, then chunks of every size
        trainer.train(steps)
    assert trainer.i == 110 == int(rung.steps.numpy())
    assert trainer.training_steps.experimental_get_tracing_count() == 1
    assert rung.training_step.experimental_get_tracing_count() <= 2  # alone, and in the loop
    datavis = animate(arguments(iterations=100), make_rung(), train=10, test=50)
    assert datavis.evaluate.experimental_get_tracing_count() <= 2  # a batch, the test set


def test_the_batches_gathered_in_the_graph_are_those_of_next_batch(monkeypatch):
    import mnistdata
    monkeypatch.setenv("TFVISU_XLA", "0")  # (py_function below: not in XLA)
    mnist = tiny_mnist()
    seen = []

    @tf.function
    def recording_step(X, Y_, i):
        tf.py_function(lambda x, y: seen.append((float(tf.reduce_sum(x)), int(tf.argmax(y[0])))),
                       [X, Y_], [])

    np.random.seed(7)
    trainer = training.Trainer(recording_step, mnist.train)
    for steps in (1, 12, 20, 30):
        trainer.train(steps)
    np.random.seed(7)
    again = mnistdata.DataSet(mnist.train.images, mnist.train.labels)
    expected = []
    for _ in range(63):
        images, labels = again.next_batch(100)
        expected.append((float(images.sum()), int(np.argmax(labels[0]))))
    assert len(seen) == 63
    assert [y for _, y in seen] == [y for _, y in expected]
    assert np.allclose([x for x, _ in seen], [x for x, _ in expected], rtol=1e-5)


def test_xla_is_chosen_for_dense_steps_and_not_for_convolutions():
    from visu import ladder
    from conftest import HAVE_MNIST
    if not HAVE_MNIST:
        pytest.skip("needs MNIST")
    # and two steps per pass of XLA's loop only for rung 1.0's small model (see Trainer)
    for rung, xla, steps_per_pass in (("1.0", True, 2), ("2.1", True, 1), ("3.0", False, 1)):
        g = ladder.load(rung)
        trainer = training.Trainer(g["training_step"], g["mnist"].train)
        trainer.train(2)
        assert (trainer.xla, trainer.steps_per_pass) == (xla, steps_per_pass), rung


@pytest.mark.parametrize("rung", ["2.2", "3.1", "4.2"])
def test_dropout_draws_a_new_mask_every_step_and_follows_the_seed_under_xla(rung):
    """The rungs' dropout in a step compiled with XLA, as the runner compiles the dense rungs:
    XLA ignores tf.nn.dropout's seed (its masks were the same whatever --seed said)."""
    from visu import ladder
    from conftest import HAVE_MNIST
    if not HAVE_MNIST:
        pytest.skip("needs MNIST")

    def masks(seed):
        dropout = ladder.load(rung, "--text", "--iterations", "1", "--seed", str(seed))["dropout"]
        step = tf.function(lambda: dropout(tf.ones([100, 200]), 0.75), jit_compile=True)
        return [step().numpy() for _ in range(3)]
    first, again, other = masks(3), masks(3), masks(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # the same seed, the same
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))  # another seed, others
    assert not np.array_equal(first[0], first[1])  # a new mask at every step
    kept = np.concatenate(first).ravel()
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}  # kept outputs scaled by 1/pkeep
    assert abs(np.mean(kept > 0) - 0.75) < 0.01
    dropout = ladder.load(rung)["dropout"]
    assert dropout(tf.ones([3, 4]), 1.0).numpy().tolist() == [[1.0] * 4] * 3  # tests: no dropout


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU here")
def test_a_rung_runs_unchanged_on_the_gpu():
    from conftest import run_rung
    result = run_rung("mnist_3.1_convolutional_bigger_dropout.py", "--text", "--iterations", "50")
    assert result.returncode == 0, result.stderr
    assert "training on the GPU" in result.stdout
