"""Run a rung script as `python3 RUNG ARGS...` would, and time its training loop.

    python3 bench/timed_run.py mnist_2.1_five_layers_relu_lrdecay.py --text --iterations 500

The rung runs unchanged (same flags, same output); at the end of `MnistDataVis.animate` (training,
reports, dashboard drawing, final save) a line `BENCH animate_seconds=S` goes to stderr, so that
benchmarks can compare training loops without the ~4 s of TensorFlow import and data loading.
`cpu_seconds` is the process's CPU time (all threads) over the same span, `setup_seconds` the
time spent making the dashboard (`Dashboard()`).
"""
import os
import runpy
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflowvisu  # noqa: E402,F401  (first, as in the rungs)
from visu import runner  # noqa: E402

_animate = runner.MnistDataVis.animate
_setup_seconds = 0.0


def timed_class(cls):
    """A subclass of cls whose construction time adds to _setup_seconds."""
    class Timed(cls):
        def __init__(self, *args, **kwargs):
            global _setup_seconds
            start = time.perf_counter()
            try:
                super().__init__(*args, **kwargs)
            finally:
                _setup_seconds += time.perf_counter() - start
    return Timed


def timed_animate(self, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    try:
        return _animate(self, *args, **kwargs)
    finally:
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"BENCH animate_seconds={seconds:.4f} cpu_seconds={cpu:.4f} setup_seconds={_setup_seconds:.4f} "
              f"dashboard={self.dashboard is not None}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    runner.MnistDataVis.animate = timed_animate
    runner.Dashboard = timed_class(runner.Dashboard)
    path = sys.argv[1]
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), path)
    sys.argv = [path] + sys.argv[2:]
    runpy.run_path(path, run_name="__main__")
