"""The rung scripts as a user runs them: flags, text mode, errors, Ctrl-C, the NaN guard.

Tests that train on real MNIST read MNIST_DATA_DIR (CI sets it) and skip without it.
"""
import ast
import os
import re
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import mnistdata  # noqa: E402
import tensorflowvisu  # noqa: E402

RUNGS = [
    "mnist_1.0_softmax.py",
    "mnist_2.0_five_layers_sigmoid.py",
    "mnist_2.1_five_layers_relu_lrdecay.py",
    "mnist_2.2_five_layers_relu_lrdecay_dropout.py",
    "mnist_3.0_convolutional.py",
    "mnist_3.1_convolutional_bigger_dropout.py",
]
MAX_LINE = re.compile(r"^max test accuracy: (0\.\d{4}|1\.0000)$")

real_data = pytest.mark.skipif(not os.environ.get("MNIST_DATA_DIR"),
                               reason="set MNIST_DATA_DIR to the folder of the four MNIST .gz files")


def run(script, *flags, env=None, timeout=300):
    """Run a rung script; returns the CompletedProcess (text mode unless flags say otherwise)."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *flags], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def last_line(text):
    return text.strip().splitlines()[-1]


@real_data
@pytest.mark.parametrize("script", RUNGS)
def test_every_rung_trains_in_text_mode(script):
    result = run(script, "--text", "--iterations", "20")
    assert result.returncode == 0, result.stderr
    assert MAX_LINE.match(last_line(result.stdout)), result.stdout
    assert re.search(r"^20: accuracy: \d\.\d{4} loss: [\d.]+ \(lr: [\d.e-]+\)$", result.stdout, re.M)
    assert re.search(r"^20: \*+ epoch 0\.03 \*+ test accuracy: \d\.\d{4} test loss: [\d.]+", result.stdout, re.M)
    assert "Traceback" not in result.stderr


def test_every_rung_imports_tensorflowvisu_before_tensorflow():
    # tensorflowvisu switches on oneDNN, which TensorFlow reads once, when it loads
    for script in RUNGS:
        with open(os.path.join(ROOT, script), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        imports = [alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names]
        assert imports[0] == "tensorflowvisu", f"{script} imports {imports}"


@pytest.mark.parametrize("setting, enabled", [(None, "True"), ("0", "False")])
def test_onednn_is_on_unless_the_environment_says_otherwise(setting, enabled):
    code = ("import tensorflowvisu, tensorflow\n"
            "from tensorflow.python.util import _pywrap_util_port as port\n"
            "print(port.IsMklEnabled() if hasattr(port, 'IsMklEnabled') else 'unknown')")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() == "unknown":
        pytest.skip("this TensorFlow does not tell whether oneDNN is on")
    assert result.stdout.strip() == enabled


@real_data
def test_tensorflow_start_up_log_stays_off_the_terminal():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "mnist_1.0_softmax.py"), "--text",
                             "--iterations", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no "cudart_stub.cc ... Could not find cuda drivers" and the like
    shown = run("mnist_1.0_softmax.py", "--text", "--iterations", "1", env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert shown.returncode == 0 and "oneDNN" in shown.stderr  # TF_CPP_MIN_LOG_LEVEL=0 shows it


def test_missing_tensorflow_is_one_line_error():
    code = ("import importlib.abc, sys\n"
            "class NoTensorFlow(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'tensorflow':\n"
            "            raise ModuleNotFoundError('No module named tensorflow', name='tensorflow')\n"
            "sys.meta_path.insert(0, NoTensorFlow())\n"
            "import tensorflowvisu\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: TensorFlow is not installed") and "Traceback" not in result.stderr
    assert "pip install -r requirements.txt" in result.stderr and len(result.stderr.splitlines()) == 1


@real_data
def test_softmax_reaches_88_percent_in_500_iterations():
    result = run("mnist_1.0_softmax.py", "--text", "--iterations", "500")
    assert result.returncode == 0, result.stderr
    assert float(MAX_LINE.match(last_line(result.stdout)).group(1)) >= 0.88


@real_data
def test_same_seed_same_run_other_seed_other_run():
    def training_lines(seed):
        result = run("mnist_1.0_softmax.py", "--text", "--iterations", "30", "--seed", seed)
        return [line.split(" [")[0] for line in result.stdout.splitlines()
                if re.match(r"^\d+: ", line)]
    first = training_lines("3")
    assert first == training_lines("3")
    assert first != training_lines("4")


@real_data
def test_no_display_falls_back_to_text_mode():
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "MPLBACKEND": ""}
    result = run("mnist_1.0_softmax.py", "--iterations", "10", env=env)
    assert result.returncode == 0, result.stderr
    assert "no display" in result.stderr and "text mode" in result.stderr
    assert MAX_LINE.match(last_line(result.stdout))


@real_data
def test_non_interactive_backend_falls_back_to_text_mode():
    result = run("mnist_1.0_softmax.py", "--iterations", "10", env={"DISPLAY": ":0", "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    assert "'agg' cannot open a window" in result.stderr
    assert MAX_LINE.match(last_line(result.stdout))


@pytest.mark.parametrize("flags, message", [
    (["--iterations", "-5"], "--iterations: must be a positive number"),
    (["--iterations", "ten"], "--iterations: invalid int value"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--save-image", "/nonexistent/folder/x.png"], "--save-image: folder /nonexistent/folder does not exist"),
    (["--save-movie", "movie.avi"], "a movie must end in .mp4 (ffmpeg) or .gif (Pillow)"),
])
def test_bad_flags_give_a_usage_error(flags, message):
    result = run("mnist_1.0_softmax.py", "--text", *flags)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: mnist_1.0_softmax.py" in result.stderr
    assert last_line(result.stderr).startswith("mnist_1.0_softmax.py: error: ")
    assert "Traceback" not in result.stderr


def test_help_describes_the_rung_and_its_flags():
    result = run("mnist_3.0_convolutional.py", "--help")
    assert result.returncode == 0
    assert "Rung 3.0" in result.stdout
    for flag in ("--iterations", "--text", "--data-dir", "--seed", "--save-image", "--save-movie"):
        assert flag in result.stdout


def test_corrupt_data_file_is_one_line_error(tmp_path):
    for name in mnistdata.FILES:
        (tmp_path / name).write_bytes(b"this is not gzip")
    result = run("mnist_1.0_softmax.py", "--text", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "delete it" in lines[-1]
    assert "Traceback" not in result.stderr


def test_missing_data_offline_is_one_line_error(tmp_path):
    # a proxy that refuses connections stands for "no internet", also on machines that have it
    offline = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = run("mnist_1.0_softmax.py", "--text", "--data-dir", str(tmp_path / "mnist"), env=offline)
    assert result.returncode == 2
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ") and "MNIST_DATA_DIR" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert "Traceback" not in result.stderr
    leftovers = list((tmp_path / "mnist").glob("*")) if (tmp_path / "mnist").exists() else []
    assert leftovers == []  # nothing half-written


@real_data
def test_ctrl_c_stops_cleanly_and_prints_max_accuracy():
    # Ctrl-C in a terminal. A test run started in the background (nohup, `cmd &` in a script)
    # ignores SIGINT, and a child inherits an ignored signal: catch it here while the rung starts,
    # so that the rung starts with the default, as a terminal gives it (a handler is not inherited).
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen([sys.executable, os.path.join(ROOT, "mnist_2.2_five_layers_relu_lrdecay_dropout.py"),
                                    "--text"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, saved)
    try:
        lines = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("100: "):  # training is well under way
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped at iteration" in err and "Traceback" not in err
    assert MAX_LINE.match(last_line("".join(lines) + out))


# ---------------------------------------------------------------------------------------------
# The runner, in-process, on tiny synthetic data

def tiny_mnist(n=300):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    images = rng.random((n, 28, 28, 1), dtype=np.float32)
    one_hot = np.eye(10, dtype=np.float32)[labels]
    return types.SimpleNamespace(train=mnistdata.DataSet(images, one_hot),
                                 test=mnistdata.DataSet(images[:100], one_hot[:100]))


def make_rung(nan_at=None):
    """A one-layer softmax rung; with nan_at, its weights turn to NaN at that iteration."""
    import keras
    import tensorflow as tf
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    optimizer = keras.optimizers.SGD(learning_rate=0.005)
    calls = []

    def model(X):
        Ylogits = tf.matmul(tf.reshape(X, [-1, 784]), W) + b
        return Ylogits, tf.nn.softmax(Ylogits)

    def cross_entropy(Ylogits, Y_):
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=Ylogits, labels=Y_)) * 100

    @tf.function
    def evaluate(X, Y_):
        Ylogits, Y = model(X)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1)), tf.float32))
        return Y, accuracy, cross_entropy(Ylogits, Y_)

    @tf.function
    def training_step(X, Y_, i):
        tf.py_function(lambda: calls.append(1), [], [])
        with tf.GradientTape() as tape:
            Ylogits, Y = model(X)
            loss = cross_entropy(Ylogits, Y_)
        gradients = tape.gradient(loss, [W, b])
        optimizer.apply_gradients(zip(gradients, [W, b]))
        if nan_at is not None and i >= nan_at:
            W.assign(W * float("nan"))

    return training_step, evaluate, [W], [b], optimizer, calls


def text_args(*flags):
    return tensorflowvisu.parse_args("test", ["--text", *flags])


def test_runner_runs_every_step_once_and_reports_on_schedule(capsys):
    training_step, evaluate, weights, biases, optimizer, calls = make_rung()
    datavis = tensorflowvisu.MnistDataVis(text_args())
    datavis.animate(training_step, evaluate, tiny_mnist(), weights, biases, optimizer.learning_rate,
                    iterations=45, train_data_update_freq=10, test_data_update_freq=20)
    out = capsys.readouterr().out
    assert len(calls) == 45
    assert re.findall(r"^(\d+): accuracy", out, re.M) == ["0", "10", "20", "30", "40", "45"]
    assert re.findall(r"^(\d+): \*+ epoch", out, re.M) == ["0", "20", "40", "45"]
    assert 0 < datavis.get_max_test_accuracy() <= 1


def test_iterations_flag_overrides_the_rung(capsys):
    training_step, evaluate, weights, biases, optimizer, calls = make_rung()
    datavis = tensorflowvisu.MnistDataVis(text_args("--iterations", "7"))
    datavis.animate(training_step, evaluate, tiny_mnist(), weights, biases, optimizer.learning_rate,
                    iterations=1000, train_data_update_freq=10, test_data_update_freq=20)
    assert len(calls) == 7
    assert "final test accuracy" in capsys.readouterr().out


def test_nan_loss_stops_with_an_explanation(capsys):
    training_step, evaluate, weights, biases, optimizer, calls = make_rung(nan_at=12)
    datavis = tensorflowvisu.MnistDataVis(text_args())
    with pytest.raises(SystemExit) as stop:
        datavis.animate(training_step, evaluate, tiny_mnist(), weights, biases, optimizer.learning_rate,
                        iterations=100, train_data_update_freq=10, test_data_update_freq=50)
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "loss became NaN at iteration 20" in err
    assert "softmax_cross_entropy_with_logits" in err
    assert len(calls) == 20  # stopped at the first report after the NaN
