"""What the benchmarks share: where the repo, the data and the rungs are, and small helpers."""
import json
import os
import statistics
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
SHARED_MNIST = os.path.join(os.path.dirname(REPO), "shared", "mnist")  # the test machines' copy
DATA_DIR = os.environ.get("MNIST_DATA_DIR") or (
    SHARED_MNIST if os.path.isdir(SHARED_MNIST) else os.path.join(REPO, "data"))

sys.path.insert(0, REPO)
from visu.ladder import RUNGS  # noqa: E402  (the list of rungs, version -> script)


def rung_path(rung):
    return os.path.join(REPO, RUNGS[rung])


def child_env(**extra):
    """Environment for a rung run as a subprocess: the data, quiet TensorFlow, unbuffered output."""
    env = dict(os.environ, MNIST_DATA_DIR=DATA_DIR, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra)
    return env


def median(values):
    return statistics.median(values)


def save_json(path, rows, **meta):
    """Write a benchmark's rows (a list of dicts) for run_all.py."""
    if path:
        with open(path, "w") as f:
            json.dump({"rows": rows, **meta}, f, indent=1)


def table(rows, columns):
    """A plain text table of `rows` (dicts) with `columns` [(key, header, format)]."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([fmt.format(row[k]) if row.get(k) is not None else "-" for k, _, fmt in columns])
    widths = [max(len(line[c]) for line in cells) for c in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in cells)


def markdown_table(rows, columns):
    """The same table in Markdown."""
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = [fmt.format(row[k]) if row.get(k) is not None else "-" for k, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
