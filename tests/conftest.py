"""What the tests share: where the repository and the data are, the rungs, skip markers, and
running a rung as a learner does. The tests import them (`from conftest import ROOT, real_data`),
and pytest loads this module first, which puts the repository on sys.path. No TensorFlow is
imported here: the picture and dashboard tests run without it."""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from visu.ladder import RUNGS  # noqa: E402

MAX_LINE = re.compile(r"^max test accuracy: (0\.\d{4}|1\.0000)$")
MNIST_DIR = os.path.abspath(os.environ.get("MNIST_DATA_DIR") or os.path.join(ROOT, "data"))
HAVE_MNIST = os.path.isfile(os.path.join(MNIST_DIR, "t10k-labels-idx1-ubyte.gz"))

real_data = pytest.mark.skipif(not HAVE_MNIST, reason="MNIST not found: set MNIST_DATA_DIR to the "
                                                      "folder of the four MNIST .gz files")


def needs(*tools):
    """Skip unless these programs are installed."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


def rung_env(**extra):
    """The environment of a rung run as a learner runs it, with the data and no screen."""
    env = dict(os.environ, MNIST_DATA_DIR=MNIST_DIR, TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("TFVISU_FORCE_DASHBOARD", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env.update({k: v for k, v in extra.items() if v is not None})
    for k in [k for k, v in extra.items() if v is None]:
        env.pop(k, None)
    return env


def run_rung(script, *flags, env=None, timeout=300, cwd=ROOT):
    """Run a rung script to its end; returns the CompletedProcess."""
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *flags], cwd=cwd,
                          env=rung_env(**(env or {})), capture_output=True, text=True,
                          timeout=timeout)


def start_rung(script, *flags, env=None, cwd=ROOT):
    """Start a rung as a terminal does: SIGINT as the default. (A test run started in the
    background ignores SIGINT and its children inherit that: Ctrl-C would not reach them.)"""
    return subprocess.Popen([sys.executable, os.path.join(ROOT, script), *flags], cwd=cwd,
                            env=rung_env(**(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
