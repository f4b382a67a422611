"""What the live dashboard costs, and how smoothly it plays: each rung drawing its dashboard
against the same run in text mode.

    python3 bench/overhead.py [--quick] [--rungs 1.0 3.1] [--iterations N] [--alternations K]
                              [--screen WxH] [--big-screen WxH] [--offscreen] [--json FILE]

Each rung runs as a subprocess (through bench/timed_run.py) for a fixed number of iterations,
same seed, in three modes, alternated (text, window, fast; then fast, window, text; ...):
- text: `--text`, no dashboard;
- window: the dashboard in a real Tk window on a virtual screen (Xvfb, 1366x768 unless --screen
  says, started here), drawing every update (the default);
- fast: the same window with `--fast`, drawing within a time budget.
Without Xvfb (or with --offscreen), the window is replaced by the same drawing offscreen on Agg
(TFVISU_FORCE_DASHBOARD=1). The time compared is the run's, inside the child, from the start of
`MnistDataVis.animate` to its summary line: TensorFlow's import, the data loading and the wait
for the finished window to be closed are left out. The dashboard reports its own frames
(TFVISU_FRAME_REPORT=1): frames drawn, updates drawn / updates due, median and 95th-percentile
frame time, and the median CPU time of the drawing thread in a frame (the next steps train
beside it on the same two cores, which slows both); the frame rate is the frames drawn per
second of the run.
The dashboard's set-up (its figure, window and first drawing, ~1.3 s) is a fixed cost, whatever
the run's length: the ratio without it is shown too. Targets, in the window: every update drawn;
on the dense rungs, where drawing sets the pace, median frame <= 30 ms, and >= 10 frames/s on
rung 1.0 (the others train 20 iterations an update, 30-90 ms here: their training sets their
frame rate); on the convolutional rungs, whose frames are drawn while the next updates train
(and take longer, TensorFlow using both cores), dashboard/text without set-up <= 1.10. A
full-length run of rung 3.1, at an earlier commit: 0.99 (window), 0.93 (fast), text 131 s:
within the noise.
The window fits the screen (it scales with it: more pixels to draw on a bigger one), so rung 1.0
also runs, text and window, on a second screen, 1920x1080 unless --big-screen says (none: skip).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BENCH, REPO, RUNGS, child_env, median, save_json, table  # noqa: E402
from models import is_convolutional  # noqa: E402

FRAME_TARGET_MS = 30  # on the dense rungs, where the drawing sets the pace
FPS_TARGET = 10
CONV_RATIO_TARGET = 1.10
SCREEN, BIG_SCREEN = "1366x768", "1920x1080"
REPORT = re.compile(r"dashboard: (\d+) frames(?: \((\d+) full draws\))? in ([\d.]+)s, median ([\d.]+) ms, "
                    r"95th percentile ([\d.]+) ms, updates drawn (\d+)/(\d+), CPU median ([\d.]+) ms")
TIMED = re.compile(r"BENCH run_seconds=([\d.]+) cpu_seconds=([\d.]+) setup_seconds=([\d.]+)")


class VirtualScreen:
    """Xvfb on a free display number, `size` pixels ("1366x768"), for as long as the benchmark
    runs."""

    def __init__(self, size=SCREEN):
        self.size = size

    def __enter__(self):
        self.number = next(n for n in range(120, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}")
                           and not os.path.exists(f"/tmp/.X{n}-lock"))
        self.server = subprocess.Popen(["Xvfb", f":{self.number}", "-screen", "0", f"{self.size}x24",
                                        "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while not os.path.exists(f"/tmp/.X11-unix/X{self.number}"):
            if self.server.poll() is not None or time.time() > deadline:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.1)
        return f":{self.number}"

    def __exit__(self, *exc):
        self.server.terminate()
        self.server.wait(10)


def run(rung, iterations, mode, display):
    """One run: {seconds, cpu, frames, median_ms, ...} (the frame fields None in text mode)."""
    flags = ["--iterations", str(iterations), "--seed", "0"]
    env = child_env()
    if mode == "text":
        flags.append("--text")
    else:
        env["TFVISU_FRAME_REPORT"] = "1"
        flags += ["--fast"] if mode == "fast" else []
        if display:
            env.update(DISPLAY=display, MPLBACKEND="TkAgg")
        else:
            env["TFVISU_FORCE_DASHBOARD"] = "1"
            flags.append("--text")
    child = subprocess.Popen([sys.executable, os.path.join(BENCH, "timed_run.py"), RUNGS[rung], *flags],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in child.stdout:  # a finished window waits to be closed: close it
        if line.startswith("max test accuracy") and mode != "text" and display:
            subprocess.run(["xdotool", "search", "--name", "mnist", "key", "q"],
                           env=dict(os.environ, DISPLAY=display), capture_output=True)
    err = child.stderr.read()
    child.wait()
    timed = TIMED.search(err)
    if child.returncode != 0 or not timed:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RuntimeError(f"rung {rung} {mode} failed (exit status {child.returncode}):\n{tail}")
    row = dict(seconds=float(timed.group(1)), cpu=float(timed.group(2)), setup=float(timed.group(3)))
    found = REPORT.search(err)
    if mode != "text":
        if not found:
            raise RuntimeError(f"rung {rung} {mode}: no frame report:\n{err[-1000:]}")
        frames, _, draw_s, median_ms, p95_ms, drawn, due, cpu_ms = found.groups()
        row.update(frames=int(frames), draw_s=float(draw_s), median_ms=float(median_ms),
                   p95_ms=float(p95_ms), drawn=int(drawn), due=int(due), cpu_ms=float(cpu_ms))
    return row


def bench_rung(rung, iterations, alternations, display, modes=("text", "window", "fast"),
               screen=SCREEN):
    modes = list(modes)
    runs = {mode: [] for mode in modes}
    for k in range(alternations):
        for mode in (modes if k % 2 == 0 else modes[::-1]):  # ABC CBA: against drift
            runs[mode].append(run(rung, iterations, mode, display))
    rows = []
    text = runs["text"]
    for mode in [mode for mode in modes if mode != "text"]:
        mine = runs[mode]
        ratio = median([m["seconds"] / t["seconds"] for m, t in zip(mine, text)])
        steady = median([(m["seconds"] - m["setup"]) / t["seconds"] for m, t in zip(mine, text)])
        row = dict(rung=rung, mode=f"{mode} {screen}" if display else f"{mode} (Agg)",
                   iterations=iterations,
                   alternations=alternations, text_s=median([t["seconds"] for t in text]),
                   seconds=median([m["seconds"] for m in mine]), ratio=ratio,
                   setup_s=median([m["setup"] for m in mine]), steady_ratio=steady,
                   frames=median([m["frames"] for m in mine]),
                   drawn=f"{median([m['drawn'] for m in mine]):.0f}/{median([m['due'] for m in mine]):.0f}",
                   median_ms=median([m["median_ms"] for m in mine]),
                   p95_ms=median([m["p95_ms"] for m in mine]),
                   cpu_ms=median([m["cpu_ms"] for m in mine]),
                   fps=median([m["frames"] / m["seconds"] for m in mine]),
                   draw_share=median([m["draw_s"] / m["seconds"] for m in mine]))
        checks = []
        if mode == "window":
            checks.append(all(m["drawn"] == m["due"] for m in mine))
            if is_convolutional(rung):  # the frames are drawn while training: do they cost?
                checks.append(steady <= CONV_RATIO_TARGET)
            else:  # the drawing sets the pace: is it smooth?
                checks.append(row["median_ms"] <= FRAME_TARGET_MS)
                if rung == "1.0":  # (the other dense rungs train 20 iterations an update: their
                    checks.append(row["fps"] >= FPS_TARGET)  # training sets their frame rate)
        row["ok"] = ("pass" if all(checks) else "MISS") if checks else "-"
        rows.append(row)
        print(f"{rung} {row['mode']}: ratio {ratio:.2f}, {row['drawn']} updates drawn, frames median "
              f"{row['median_ms']:.1f} ms, {row['fps']:.1f} frames/s", file=sys.stderr, flush=True)
    return rows


COLUMNS = [("rung", "rung", "{}"), ("mode", "mode", "{}"), ("iterations", "N", "{}"),
           ("alternations", "alt", "{}"), ("text_s", "text s", "{:.2f}"),
           ("seconds", "dashboard s", "{:.2f}"), ("ratio", "dashboard/text", "{:.2f}"),
           ("setup_s", "set-up s", "{:.2f}"), ("steady_ratio", "without set-up", "{:.2f}"),
           ("drawn", "updates drawn/due", "{}"), ("frames", "frames", "{:.0f}"),
           ("median_ms", "frame median ms", "{:.1f}"), ("p95_ms", "frame p95 ms", "{:.1f}"),
           ("cpu_ms", "frame CPU ms", "{:.1f}"),
           ("fps", "frames/s", "{:.1f}"), ("draw_share", "time drawing", "{:.0%}"),
           ("ok", "pass/miss", "{}")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, one alternation")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(RUNGS))
    parser.add_argument("--iterations", type=int, help="iterations of every rung (default: see below)")
    parser.add_argument("--alternations", type=int, help="text/window/fast rounds per rung")
    parser.add_argument("--screen", default=SCREEN, help=f"the virtual screen (default {SCREEN})")
    parser.add_argument("--big-screen", default=BIG_SCREEN,
                        help=f"a second screen for rung 1.0 (default {BIG_SCREEN}; none: skip)")
    parser.add_argument("--offscreen", action="store_true", help="draw on Agg, even with Xvfb")
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    # rung 1.0 runs its full 2,000 iterations; the others a share of their 10,000, long enough
    # for the dashboard's set-up (~0.5 s) to weigh little: (iterations, alternations)
    plan = {"1.0": (2000, 2), "dense": (1000, 2), "conv": (2000, 2), "4.2": (300, 2)}
    if args.quick:
        plan = {"1.0": (500, 1), "dense": (300, 1), "conv": (100, 1), "4.2": (40, 1)}
    windows = not args.offscreen and all(shutil.which(t) for t in ("Xvfb", "xdotool"))
    if not windows:
        print("no Xvfb or xdotool (or --offscreen): drawing offscreen on Agg instead of a window",
              file=sys.stderr)
    rows = []

    def planned(rung):
        key = rung if rung in plan else ("conv" if is_convolutional(rung) else "dense")
        iterations, alternations = plan[key]
        return args.iterations or iterations, args.alternations or alternations
    with (VirtualScreen(args.screen) if windows else _NoScreen()) as display:
        for rung in args.rungs:
            rows += bench_rung(rung, *planned(rung), display, screen=args.screen)
    if windows and args.big_screen != "none" and "1.0" in args.rungs:
        with VirtualScreen(args.big_screen) as display:
            rows += bench_rung("1.0", *planned("1.0"), display, modes=("text", "window"),
                               screen=args.big_screen)
    print(table(rows, COLUMNS))
    save_json(args.json, rows, quick=args.quick, screen=args.screen if windows else None,
              big_screen=args.big_screen if windows else None)
    return rows


class _NoScreen:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        pass


if __name__ == "__main__":
    main()
