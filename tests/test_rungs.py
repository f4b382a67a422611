"""The rung scripts as a learner runs and reads them: the lesson's layout, flags, text mode,
errors, and how a run ends in a terminal."""

import ast
import difflib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import mnistdata
from conftest import MAX_LINE, RUNGS, ROOT, last_line, real_data, run_rung, start_rung

SECTIONS = ["# --- the data ---", "# --- the network ---", "# --- loss and accuracy ---",
            "# --- training ---", "# --- run it ---", "# --- results ---"]
# diff lines between a rung and the one it derives from (`diff a b | grep -c '^[<>]'`): they
# must not grow; the batch-norm rungs' limits are half of the original ladder's diffs
DIFF_LIMITS = {("1.0", "2.0"): 62, ("2.0", "2.1"): 20, ("2.1", "2.2"): 36, ("2.2", "3.0"): 73,
               ("3.0", "3.1"): 36, ("2.0", "4.0"): 66, ("2.1", "4.1"): 65, ("3.1", "4.2"): 90}
# Python that makes `import tensorflow` fail, then runs a rung: proves what runs before it loads
WITHOUT_TENSORFLOW = (
    "import importlib.abc, runpy, sys\n"
    "class NoTensorFlow(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] in ('tensorflow', 'keras'):\n"
    "            raise ModuleNotFoundError(f'No module named {name}', name=name)\n"
    "sys.meta_path.insert(0, NoTensorFlow())\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def source(script):
    with open(os.path.join(ROOT, script), encoding="utf-8") as f:
        return f.read()


def changed_lines(a, b):
    diff = difflib.unified_diff(source(a).splitlines(), source(b).splitlines(), lineterm="", n=0)
    return sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))


# --- the lesson's layout ----------------------------------------------------------------------
@pytest.mark.parametrize("script", RUNGS.values())
def test_every_rung_has_the_same_sections_in_the_same_order(script):
    lines = source(script).splitlines()
    headings = [line for line in lines if line.startswith("# --- ")]
    assert [h[:h.index(" ---", 5) + 4] for h in headings] == SECTIONS


@pytest.mark.parametrize("script", RUNGS.values())
def test_every_rung_line_fits_in_100_columns(script):
    long = [(n, len(line)) for n, line in enumerate(source(script).splitlines(), 1) if len(line) > 100]
    assert long == []
    assert "coding" not in source(script).splitlines()[0]


def test_the_diffs_between_a_rung_and_the_one_it_derives_from_stay_small():
    from visu import ladder
    assert set(DIFF_LIMITS) == {(ladder.previous(r), r) for r in RUNGS if ladder.previous(r)}
    for (a, b), limit in DIFF_LIMITS.items():
        assert changed_lines(RUNGS[a], RUNGS[b]) <= limit, (a, b)


@pytest.mark.parametrize("script", RUNGS.values())
def test_every_rung_parses_its_flags_before_it_imports_tensorflow(script):
    tree = ast.parse(source(script))
    order = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            order += [alias.name for alias in node.names]
        elif isinstance(node, ast.Assign) and "parse_args" in ast.unparse(node.value):
            order.append("parse_args")
    assert order[:2] == ["tensorflowvisu", "parse_args"], order
    assert "tensorflow" in order[2:]


# --- flags, before TensorFlow ---------------------------------------------------------------------
def without_tensorflow(script, *flags, env=None):
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, os.path.join(ROOT, script),
                           *flags], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def test_help_describes_the_rung_and_its_flags_without_loading_tensorflow():
    result = without_tensorflow("mnist_3.0_convolutional.py", "--help")
    assert result.returncode == 0, result.stderr
    assert "rung 3.0" in result.stdout
    for flag in ("--iterations", "--text", "--data-dir", "--seed", "--save-image", "--save-movie"):
        assert flag in result.stdout
    assert "default: 10000, this rung's" in " ".join(result.stdout.split())


@pytest.mark.parametrize("flags, message", [
    (["--iterations", "-5"], "--iterations: must be a positive number"),
    (["--iterations", "ten"], "--iterations: invalid int value"),
    (["--seed", "-3"], "--seed: must be from 0 to 4,294,967,295, not -3"),
    (["--predict", "/"], "--predict: / is a folder: give a file"),
    (["--seed", str(2**32)], "--seed: must be from 0 to 4,294,967,295"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--save-image", "/nonexistent/folder/x.png"], "--save-image: folder /nonexistent/folder does not exist"),
    (["--save-movie", "movie.avi"], "a movie must end in .mp4 (ffmpeg) or .gif (Pillow)"),
    (["--save-image", "final.gif"], "--save-image: final.gif: an image must end in .png, .jpg"),
])
def test_bad_flags_give_a_usage_error_before_tensorflow_loads(flags, message):
    result = without_tensorflow("mnist_1.0_softmax.py", "--text", *flags)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: mnist_1.0_softmax.py" in result.stderr
    assert last_line(result.stderr).startswith("mnist_1.0_softmax.py: error: ")
    assert "Traceback" not in result.stderr


def test_the_first_line_comes_before_tensorflow_and_a_missing_one_is_one_line():
    result = without_tensorflow("mnist_2.1_five_layers_relu_lrdecay.py", "--text",
                                env={"MNIST_DATA_DIR": "/some/mnist"})
    assert result.stdout.splitlines()[0] == ("mnist_2.1_five_layers_relu_lrdecay.py: 10,000 "
                                             "iterations on MNIST from /some/mnist, seed 0; "
                                             "loading TensorFlow")
    assert result.returncode == 2
    assert result.stderr.startswith("error: TensorFlow is not installed") and "Traceback" not in result.stderr
    assert "pip install -r requirements.txt" in result.stderr and len(result.stderr.splitlines()) == 1


# --- running ----------------------------------------------------------------------------------------
@real_data
@pytest.mark.parametrize("script", RUNGS.values())
def test_every_rung_trains_in_text_mode(script):
    result = run_rung(script, "--text", "--iterations", "20")
    assert result.returncode == 0, result.stderr
    assert MAX_LINE.match(last_line(result.stdout)), result.stdout
    assert re.search(r"^20: accuracy: \d\.\d{4} loss: [\d.]+ \(lr: [\d.e-]+\)$", result.stdout, re.M)
    assert re.search(r"^20: \*+ epoch 0\.03 \*+ test accuracy: \d\.\d{4} test loss: [\d.]+",
                     result.stdout, re.M)
    assert re.search(r"^TensorFlow loaded in [\d.]+ s: training on the (CPU|GPU)", result.stdout, re.M)
    assert result.stderr == ""


@pytest.mark.parametrize("setting, on", [(None, True), ("0", False)])
def test_onednn_is_on_unless_the_environment_says_otherwise(setting, on):
    # TensorFlow says so in its start-up log, which TF_CPP_MIN_LOG_LEVEL=0 shows
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    code = "import tensorflowvisu\nfrom visu import startup\nstartup.import_tensorflow()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("oneDNN custom operations are on" in result.stderr) == on


@pytest.mark.parametrize("enabled", [True, False])
def test_tensorflow_imports_with_the_garbage_collector_paused_then_frozen_out(enabled):
    # its ~400,000 objects: not scanned during the import (0.7-1.1 s of it), nor afterwards
    code = ("import gc\nimport tensorflowvisu\nfrom visu import startup\n"
            f"gc.enable() if {enabled} else gc.disable()\n"
            "seen = []\n"
            "gc.callbacks.append(lambda phase, info: seen.append(info['generation']))\n"
            "startup.import_tensorflow()\n"
            "print(gc.isenabled(), gc.get_freeze_count(), seen)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    enabled_after, frozen, collections = result.stdout.split(maxsplit=2)
    assert enabled_after == str(enabled)  # as it was
    assert int(frozen) > 100_000
    assert collections.strip() == "[]"  # no collection at all during the import


@real_data
def test_tensorflow_start_up_log_stays_off_the_terminal():
    quiet = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "1",
                     env={"TF_CPP_MIN_LOG_LEVEL": None})
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # no "cudart_stub.cc ... Could not find cuda drivers" and the like
    shown = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "1",
                     env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert shown.returncode == 0 and "oneDNN" in shown.stderr


@real_data
def test_softmax_reaches_88_percent_in_500_iterations():
    result = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "500")
    assert result.returncode == 0, result.stderr
    assert float(MAX_LINE.match(last_line(result.stdout)).group(1)) >= 0.88


@real_data
def test_same_seed_same_run_other_seed_other_run():
    def training_lines(seed):
        result = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "30", "--seed", seed)
        return [line.split(" [")[0] for line in result.stdout.splitlines() if re.match(r"^\d+: ", line)]
    first = training_lines("3")
    assert first == training_lines("3")
    assert first != training_lines("4")


# --- no window here -------------------------------------------------------------------------------------
@real_data
def test_no_display_falls_back_to_text_mode():
    result = run_rung("mnist_1.0_softmax.py", "--iterations", "10", env={"MPLBACKEND": None})
    assert result.returncode == 0, result.stderr
    assert "no display" in result.stderr and "text mode" in result.stderr
    assert MAX_LINE.match(last_line(result.stdout))


@real_data
def test_non_interactive_backend_falls_back_to_text_mode():
    result = run_rung("mnist_1.0_softmax.py", "--iterations", "10",
                      env={"DISPLAY": ":0", "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    assert "'agg' cannot open a window" in result.stderr
    assert MAX_LINE.match(last_line(result.stdout))


def no_tk(tmp_path):
    """A PYTHONPATH on which tkinter cannot be imported, as in a Debian venv without python3-tk."""
    (tmp_path / "tkinter").mkdir()
    (tmp_path / "tkinter" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named '_tkinter'\", name='_tkinter')\n")
    return {"PYTHONPATH": str(tmp_path), "DISPLAY": ":0", "MPLBACKEND": None}


@real_data
def test_a_display_without_tk_says_how_to_get_tk_and_runs_in_text_mode(tmp_path):
    result = run_rung("mnist_1.0_softmax.py", "--iterations", "10", env=no_tk(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "this Python has no Tk" in result.stderr and "apt-get install python3-tk" in result.stderr
    assert "running in text mode" in result.stderr
    assert MAX_LINE.match(last_line(result.stdout))


def test_mplbackend_tkagg_without_tk_is_a_one_line_error(tmp_path):
    env = dict(no_tk(tmp_path), MPLBACKEND="TkAgg")
    result = run_rung("mnist_1.0_softmax.py", "--iterations", "10", env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "'TkAgg'" in result.stderr
    assert "MPLBACKEND" in result.stderr and "python3-tk" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- bad data -------------------------------------------------------------------------------------------
def test_corrupt_data_file_is_one_line_error(tmp_path):
    for name in mnistdata.FILES:
        (tmp_path / name).write_bytes(b"this is not gzip")
    result = run_rung("mnist_1.0_softmax.py", "--text", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "delete it" in lines[-1]
    assert "Traceback" not in result.stderr


def test_missing_data_offline_is_one_line_error_and_leaves_no_folder(tmp_path):
    # a proxy that refuses connections stands for "no internet", also on machines that have it
    offline = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    result = run_rung("mnist_1.0_softmax.py", "--text", "--data-dir", str(tmp_path / "new" / "mnist"),
                      env=offline)
    assert result.returncode == 2
    message = last_line(result.stderr)
    assert message.startswith("error: ") and "MNIST_DATA_DIR" in message
    assert "train-images-idx3-ubyte.gz" in message
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == [], "the folder made for the download is gone"


# --- endings in a terminal ------------------------------------------------------------------------------
def read_until(process, prefix, timeout=120):
    """Lines of stdout up to the first that starts with prefix."""
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith(prefix) or not line:
            break
    return lines


def signal_after(process, prefix, signum):
    """Send `signum` once a line of stdout starts with prefix, and wait for the end:
    (all of stdout, stderr)."""
    try:
        lines = read_until(process, prefix)
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return "".join(lines) + out, err


@real_data
def test_ctrl_c_stops_cleanly_and_prints_max_accuracy():
    process = start_rung("mnist_2.2_five_layers_relu_lrdecay_dropout.py", "--text")
    out, err = signal_after(process, "100: ", signal.SIGINT)  # training is well under way
    assert process.returncode == 0, err
    assert "stopped at iteration" in err and "Ctrl-C" in err and "Traceback" not in err
    assert MAX_LINE.match(last_line(out))


@real_data
def test_sigterm_finishes_the_movie_prints_the_summary_and_exits_143(tmp_path):
    from PIL import Image
    movie = tmp_path / "x.gif"
    process = start_rung("mnist_1.0_softmax.py", "--text", "--iterations", "100000",
                         "--save-movie", str(movie))
    out, err = signal_after(process, "60: ", signal.SIGTERM)
    assert process.returncode == 143, err
    assert "stopped at iteration" in err and "SIGTERM" in err and "Traceback" not in err
    assert MAX_LINE.match(last_line(out))
    with Image.open(movie) as gif:
        assert gif.n_frames >= 7  # iterations 0, 10, ... 60 at least
    assert os.listdir(tmp_path) == ["x.gif"], "no .part file left"


@real_data
def test_a_batchnorm_rung_saves_its_image_movie_and_weights_and_ends_on_sigterm(tmp_path):
    # the batch-norm rungs go through the same runner as the others: files, seeds, endings
    from PIL import Image
    files = [tmp_path / name for name in ("bn.png", "bn.gif", "bn.npz")]
    process = start_rung("mnist_4.1_batchnorm_five_layers_relu.py", "--text", "--seed", "3",
                         "--iterations", "100000", "--save-image", str(files[0]),
                         "--save-movie", str(files[1]), "--save-weights", str(files[2]))
    out, err = signal_after(process, "40: ", signal.SIGTERM)
    assert process.returncode == 143 and "Traceback" not in err, err
    assert MAX_LINE.match(last_line(out))
    with Image.open(files[0]) as image:
        assert image.size == (1600, 900)
    with Image.open(files[1]) as gif:
        assert gif.n_frames >= 3  # iterations 0, 20, 40 at least
    assert sorted(os.listdir(tmp_path)) == ["bn.gif", "bn.npz", "bn.png"], "no .part file left"


def test_sigterm_while_starting_is_one_line():
    process = start_rung("mnist_1.0_softmax.py", "--text")
    # the first line is out: TensorFlow is loading
    _, err = signal_after(process, "mnist_1.0_softmax.py: ", signal.SIGTERM)
    assert process.returncode == 143
    assert err.strip() == "stopped before training started (SIGTERM)"


def output_closed_after(process, prefix):
    """Close the rung's standard output, as `| head` does, once a line starts with prefix;
    wait for the end: its stderr."""
    try:
        read_until(process, prefix)
        process.stdout.close()
        return process.stderr.read()
    finally:
        process.wait(timeout=120)
        process.kill()


@real_data
def test_a_closed_output_ends_the_run_and_the_rest_goes_to_stderr(tmp_path):
    """`python3 mnist_1.0_softmax.py | head -3`: no BrokenPipeError traceback; the run ends as
    any other, its files saved, its last lines on stderr; the status a shell gives SIGPIPE."""
    weights = tmp_path / "w.npz"
    process = start_rung("mnist_1.0_softmax.py", "--text", "--iterations", "100000",
                         "--save-weights", str(weights))
    err = output_closed_after(process, "0: accuracy")
    assert process.returncode == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert re.search(r"^stopped at iteration \d+ of 100000: standard output closed$", err, re.M)
    assert f"saved {weights}" in err and MAX_LINE.match(last_line(err)), err
    assert os.listdir(tmp_path) == ["w.npz"]


def test_a_closed_output_while_starting_is_one_line():
    process = start_rung("mnist_1.0_softmax.py", "--text")
    err = output_closed_after(process, "mnist_1.0_softmax.py: ")  # then TensorFlow's line fails
    assert process.returncode == 128 + signal.SIGPIPE
    assert err.strip() == "stopped before training started (standard output closed)"


# --- other data sets --------------------------------------------------------------------------------
FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist (CI installs it)


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="apt-get install dataset-fashion-mnist")
def test_rung_1_0_trains_on_fashion_mnist():
    result = run_rung("mnist_1.0_softmax.py", "--text", "--iterations", "600", "--dataset",
                      "fashion", env={"FASHION_MNIST_DATA_DIR": FASHION_DIR})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"mnist_1.0_softmax.py: 600 iterations on Fashion-MNIST from "
                                    f"{FASHION_DIR}")
    assert float(MAX_LINE.match(last_line(result.stdout)).group(1)) >= 0.75  # 0.8146 seen
    assert result.stderr == ""
