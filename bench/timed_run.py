"""Run a rung script as `python3 RUNG ARGS...` would, and time its run proper.

    python3 bench/timed_run.py mnist_2.1_five_layers_relu_lrdecay.py --text --iterations 500

The rung runs unchanged (same flags, same output). When its summary is printed, a line
`BENCH run_seconds=S cpu_seconds=C` goes to stderr: the time from the start of
`MnistDataVis.animate` (the dashboard's set-up, training, reports, drawing, the final files), so
that benchmarks compare runs without the ~4 s of TensorFlow import and data loading, nor the
wait for a finished window to be closed. `cpu_seconds` is the process's CPU time (all threads)
over the same span, `setup_seconds` the time spent making the dashboard (its figure, window
and first drawing), a fixed cost whatever the run's length.
"""
import os
import runpy
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflowvisu  # noqa: E402,F401  (first, as in the rungs)
from visu import runner  # noqa: E402

_animate = runner.MnistDataVis.animate
_print_summary = runner.MnistDataVis._print_summary
_open_dashboard = runner.MnistDataVis._open_dashboard
_started = {"setup": 0.0}


def timed_animate(self, *args, **kwargs):
    _started["clocks"] = time.perf_counter(), time.process_time()
    return _animate(self, *args, **kwargs)


def timed_open_dashboard(self):
    started = time.perf_counter()
    try:
        return _open_dashboard(self)
    finally:
        _started["setup"] += time.perf_counter() - started


def timed_summary(self):
    wall, cpu = _started["clocks"]
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _print_summary(self)
    print(f"BENCH run_seconds={seconds:.4f} cpu_seconds={cpu:.4f} setup_seconds={_started['setup']:.4f}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    runner.MnistDataVis.animate = timed_animate
    runner.MnistDataVis._print_summary = timed_summary
    runner.MnistDataVis._open_dashboard = timed_open_dashboard
    path = sys.argv[1]
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), path)
    sys.argv = [path] + sys.argv[2:]
    runpy.run_path(path, run_name="__main__")
