"""The benchmarks still read what TensorFlow gives them (one smoke run; no timing is asserted).

bench/step_profile.py reads the profiler's trace, whose format and event names belong to
TensorFlow and can change with it: a change would make it report nothing, quietly.
"""
import json
import os
import subprocess
import sys

from conftest import MNIST_DIR, ROOT, real_data


@real_data
def test_step_profile_finds_kernels_and_graph_time(tmp_path):
    out = tmp_path / "profile.json"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "step_profile.py"),
                           "--rungs", "1.0", "--iterations", "20", "--repeat", "1",
                           "--json", str(out)],
                          cwd=ROOT, env=dict(os.environ, MNIST_DATA_DIR=MNIST_DIR),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["what"]: row for row in json.loads(out.read_text())["rows"]}
    # rung 1.0 is one matmul layer: its forward and backward matmuls are there, on both sides
    # (ours compiled by XLA: "XLA MatMul"; Keras: oneDNN's kernels, "_MklMatMul")
    for side in ("ours", "keras"):
        assert any(row[side] for what, row in rows.items() if "MatMul" in what), (side, rows)
    for side in ("ours", "keras"):
        kernels = rows["all kernels (CPU ms, both threads)"][side]
        in_graph, wall = rows["in graph (wall ms)"][side], rows["wall per iteration (ms)"][side]
        assert 0 < kernels and 0 < in_graph < wall, (side, kernels, in_graph, wall)
