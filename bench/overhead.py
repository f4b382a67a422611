"""What the dashboard costs: a rung's training loop drawing the dashboard vs in text mode.

    python3 bench/overhead.py [--quick] [--rungs 2.1 3.1] [--iterations N] [--alternations K] [--json FILE]

Each rung runs as a subprocess (through bench/timed_run.py) for a fixed number of iterations,
same seed, in two modes, alternated: text mode (`--text`) and text mode plus the dashboard drawn
offscreen on Agg with the live window's drawing policy (`--text` and `TFVISU_FORCE_DASHBOARD=1`,
so that the only difference is the dashboard). The time
compared is that of `MnistDataVis.animate` (training, reports, drawing, final save), measured
inside the child: TensorFlow's import and the data loading (~4 s, the same in both modes) are
left out rather than subtracted. The process wall times are shown too, and the dashboard's own
report of its cost (frames drawn, seconds drawing, seconds updating its data), the seconds spent
making it (`Dashboard()`, matplotlib's import included: a fixed cost, whatever the run's length)
and the ratio without them; "other extra" is the rest of the difference: closing the figure, the
live policy's shorter training chunks, and noise.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH, REPO, RUNGS, child_env, median, save_json, table  # noqa: E402

TARGETS = {"1.0": 1.5, "2.0": 1.5, "2.1": 1.5, "2.2": 1.5, "3.0": 1.10, "3.1": 1.10}
FORCE = "TFVISU_FORCE_DASHBOARD"


def force_supported():
    with open(os.path.join(REPO, "visu", "renderers.py")) as f:
        return FORCE in f.read()


def run(rung, iterations, dashboard):
    """(animate seconds, its CPU seconds, process wall seconds, the dashboard's own report or
    None) of one run; raises on failure."""
    args = ["--text", "--iterations", str(iterations), "--seed", "0"]
    env = child_env(**({FORCE: "1"} if dashboard else {}))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.join(BENCH, "timed_run.py"), RUNGS[rung], *args],
                          cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    found = re.search(r"BENCH animate_seconds=([\d.]+) cpu_seconds=([\d.]+) setup_seconds=([\d.]+) "
                      r"dashboard=(\w+)", done.stderr)
    if done.returncode != 0 or not found:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"rung {rung} {'dashboard' if dashboard else 'text'} failed "
                           f"(exit status {done.returncode}):\n{tail}")
    drawn = re.search(r"dashboard: (\d+) frames \((\d+) full draws\) in ([\d.]+)s", done.stderr)
    if found.group(4) != "True":
        report = None  # no dashboard was made
    else:  # frames, full draws, drawing seconds, update seconds (not reported), set-up seconds
        report = ([float(x) for x in drawn.groups()] + [0.0] if drawn else [math.nan] * 4) + [float(found.group(3))]
    return float(found.group(1)), float(found.group(2)), wall, report


def bench_rung(rung, iterations, alternations):
    text, dash, text_wall, dash_wall, text_cpu, dash_cpu, ratios, reports = [], [], [], [], [], [], [], []
    for k in range(alternations):
        for dashboard in ([False, True] if k % 2 == 0 else [True, False]):  # ABBA against drift
            seconds, cpu, wall, report = run(rung, iterations, dashboard)
            if dashboard and not report:
                return dict(rung=rung, iterations=iterations, ok="no dashboard",
                            note=f"{FORCE}=1 did not draw a dashboard (not implemented yet?)")
            if dashboard:
                reports.append(report)
            (dash if dashboard else text).append(seconds)
            (dash_wall if dashboard else text_wall).append(wall)
            (dash_cpu if dashboard else text_cpu).append(cpu)
        ratios.append(dash[-1] / text[-1])
    ratio = median(ratios)
    return dict(rung=rung, iterations=iterations, alternations=alternations,
                text_s=median(text), dash_s=median(dash), ratio=ratio,
                text_wall=median(text_wall), dash_wall=median(dash_wall),
                wall_ratio=median([d / t for d, t in zip(dash_wall, text_wall)]),
                cpu_ratio=median([d / t for d, t in zip(dash_cpu, text_cpu)]),
                frames=median([r[0] for r in reports]), full_draws=median([r[1] for r in reports]),
                draw_s=median([r[2] for r in reports]), update_s=median([r[3] for r in reports]),
                setup_s=median([r[4] for r in reports]),
                other_s=median([d - t - r[2] - r[3] - r[4] for d, t, r in zip(dash, text, reports)]),
                steady_ratio=median([(d - r[4]) / t for d, t, r in zip(dash, text, reports)]),
                target=TARGETS[rung], ok="pass" if ratio <= TARGETS[rung] else "MISS")


COLUMNS = [("rung", "rung", "{}"), ("iterations", "N", "{}"), ("alternations", "alt", "{}"),
           ("text_s", "text s", "{:.2f}"), ("dash_s", "dashboard s", "{:.2f}"),
           ("ratio", "ratio", "{:.2f}"), ("target", "target", "<= {:.2f}"), ("ok", "pass/miss", "{}"),
           ("frames", "frames", "{:.0f}"), ("full_draws", "full draws", "{:.0f}"),
           ("setup_s", "set-up s", "{:.2f}"), ("draw_s", "drawing s", "{:.2f}"),
           ("update_s", "updates s", "{:.2f}"), ("other_s", "other extra s", "{:.2f}"),
           ("steady_ratio", "ratio without set-up", "{:.2f}"),
           ("cpu_ratio", "CPU ratio", "{:.2f}"),
           ("text_wall", "process s text", "{:.1f}"), ("dash_wall", "process s dashboard", "{:.1f}"),
           ("wall_ratio", "process ratio", "{:.2f}")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, one alternation")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(RUNGS))
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    parser.add_argument("--iterations", type=int, help="iterations of every rung (default: see below)")
    parser.add_argument("--alternations", type=int, help="text/dashboard pairs per rung")
    args = parser.parse_args(argv)
    # iterations, alternations: rung 1.0 runs its full 2,000 iterations by default (a few seconds);
    # the convolutional rungs run 2,000 of their 10,000 (30-45 s each): the dashboard's fixed
    # set-up cost (~0.5 s) then weighs ~1.5% of the time, still 5x what it weighs in a full run
    plan = {"1.0": (600, 1), "2": (300, 1), "3": (60, 1)} if args.quick else \
        {"1.0": (2000, 3), "2": (1000, 3), "3": (2000, 2)}
    note = None
    if not force_supported():
        note = f"tensorflowvisu.py has no {FORCE} yet: the dashboard cannot be drawn offscreen"
        print(note, file=sys.stderr)
        rows = [dict(rung=r, ok="not run", note=note) for r in args.rungs]
    else:
        rows = []
        for rung in args.rungs:
            iterations, alternations = plan[rung] if rung in plan else plan[rung[0]]
            rows.append(bench_rung(rung, args.iterations or iterations, args.alternations or alternations))
            print(f"{rung}: {rows[-1]}", file=sys.stderr, flush=True)
    print(table(rows, COLUMNS))
    save_json(args.json, rows, quick=args.quick, note=note)
    return rows


if __name__ == "__main__":
    main()
