"""The benchmarks still read what the frameworks give them (smoke runs; no timing is asserted).

bench/step_profile.py reads the profiler's trace, whose format and event names belong to
TensorFlow and can change with it: a change would make it report nothing, quietly.
bench/peers.py rebuilds the rungs in PyTorch and JAX, whose APIs move too.
"""
import json
import os
import re
import subprocess
import sys

import pytest

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


@real_data
def test_peers_train_the_same_model_and_give_the_figure_of_merit(tmp_path):
    # rung 4.2 builds every kind of layer the peers rebuild: convolutions with TensorFlow's SAME
    # padding, batch norm, dropout (torch.compile left out: it compiles for tens of seconds)
    import importlib.util
    peers = [peer for peer, module in (("torch", "torch"), ("jax", "jax"), ("keras-jax", "jax"))
             if importlib.util.find_spec(module) is not None]
    if not peers:
        pytest.skip("no peer installed: pip install -r bench/requirements-peers.txt")
    out = tmp_path / "peers.json"
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "peers.py"), "--rungs",
                           "4.2", "--iterations", "20", "--rounds", "1", "--peers", *peers,
                           "--json", str(out)],
                          cwd=ROOT, env=dict(os.environ, MNIST_DATA_DIR=MNIST_DIR),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    row, = json.loads(out.read_text())["rows"]
    assert row["failed"] == {}, row["failed"]  # every side ran, and its loss fell
    for side in ["ours", *peers]:
        assert row[side] > 0 and row[f"{side} loss"] > 0, side
    assert row["fastest"] in peers and row["merit"] == row[f"ours/{row['fastest']}"]
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"worst ratio ours/fastest peer: \d+\.\d\d \(rung 4\.2\)", last), last


def test_run_all_only_replaces_its_sections_and_keeps_the_others(tmp_path, monkeypatch):
    bench = os.path.join(ROOT, "bench")
    monkeypatch.syspath_prepend(bench)  # for this test only, and the modules imported from there
    before = set(sys.modules)
    import run_all
    for name in set(sys.modules) - before:  # gone again after the test ("loader" is a common name)
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(bench):
            monkeypatch.setitem(sys.modules, name, sys.modules.pop(name))  # teardown deletes it
    results = tmp_path / "results.md"
    every = {name: [f"## {run_all.TITLES[name]}", "", f"{name}, first run", ""]
             for name in run_all.BENCHMARKS}
    run_all.write(str(results), every, "before: 1 1 1, after: 2 2 2")
    first = results.read_text()
    assert "Load average (1, 5, 15 min) before: 1 1 1" in first
    run_all.write(str(results), {"overhead": [f"## {run_all.TITLES['overhead']}", "",
                                              "overhead, second run", ""]}, "before: 3, after: 4")
    second = results.read_text()
    # the header and the other sections as they were, in their order; overhead replaced
    assert second.split("## ")[0] == first.split("## ")[0]
    titles = [line for line in second.splitlines() if line.startswith("## ")]
    assert titles == [f"## {run_all.TITLES[name]}" for name in run_all.BENCHMARKS]
    for name in run_all.BENCHMARKS:
        assert (f"{name}, first run" in second) == (name != "overhead"), name
    assert "overhead, second run" in second and "Re-run alone on " in second
    assert "load average before: 3, after: 4" in second
    assert os.listdir(tmp_path) == ["results.md"]  # no .part left
    # a benchmark that fails again leaves its earlier section as it was
    run_all.write(str(results), {"speed": [f"## {run_all.TITLES['speed']}", "",
                                           "The benchmark failed: see its output.", ""]},
                  "before: 5, after: 6", failed=["speed"])
    assert results.read_text() == second

