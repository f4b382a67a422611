"""Wall time, from process start, until a rung first reaches a test accuracy (text mode).

    python3 bench/time_to_accuracy.py [--quick] [--repeat N] [--rungs 3.1 2.1] [--json FILE]

Runs `python3 RUNG --text --iterations CAP` as a subprocess and reads its stdout as it comes:
the startup time is when the first training line (`0: accuracy: ...`) appears, the time to
accuracy when a test line (`I: ********* epoch E ********* test accuracy: A ...`) first shows
A >= the goal; the process is then stopped. Both include Python start, TensorFlow's import,
data loading and tracing. The child's CPU time (all threads, from /proc) at the same moments
is shown too: on a machine shared with other jobs, wall times stretch, CPU times much less.
The rung runs under a short wrapper (`python3 -c`) that does the rung's imports (tensorflowvisu, keras,
tensorflow) itself, says so on stdout, then runs the script: the startup splits, in the same
process, into the imports and what comes after (data, variables, tracing, the first step).
Before each run, a process that only does `import tensorflow` is timed the same way: the least
startup any TensorFlow program has on this machine.
--quick runs each goal once, the default twice (medians shown).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, RUNGS, child_env, median, save_json, table  # noqa: E402

# rung, test accuracy to reach, cap on iterations, target seconds to reach it
GOALS = [("3.1", 0.99, 4000, 60.0), ("2.1", 0.98, 10000, None)]
STARTUP_TARGET = 5.0
TEST_LINE = re.compile(r"^(\d+): \*+ epoch ([\d.]+) \*+ test accuracy: ([\d.]+)")


def cpu_seconds(pid):
    """User + system CPU seconds of a running process so far (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


BARE_IMPORT = "import tensorflow"  # the least any TensorFlow program imports
# Runs the rung at sys.argv[1] as `python3 RUNG ARGS` would, after its imports, which it reports
WRAPPER = ("import runpy, sys; import tensorflowvisu, keras, tensorflow; print('BENCH imported', flush=True); "
           "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def import_seconds(imports):
    """Wall seconds from process start until `imports` are done, for a process that only does
    them, timed as the runs are."""
    code = f"{imports}; print('imported', flush=True)"
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = child.stdout.readline()
    seconds = time.perf_counter() - start
    if child.wait() != 0 or line.strip() != "imported":
        raise RuntimeError(f"{imports!r} failed (exit status {child.returncode})")
    return seconds


def run(rung, goal, cap):
    """(startup seconds, seconds to goal or None, iteration, epoch, best accuracy, CPU seconds
    to goal, CPU seconds to startup, seconds to the end of the imports) of one run."""
    command = [sys.executable, "-c", WRAPPER, os.path.join(REPO, RUNGS[rung]), "--text", "--iterations", str(cap)]
    startup = reached = startup_cpu = imported = None
    iteration = epoch = cpu = None
    best = 0.0
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=subprocess.PIPE,
                                 stderr=errors, text=True, bufsize=1)
        try:
            for line in child.stdout:
                now = time.perf_counter() - start
                if imported is None and line.strip() == "BENCH imported":
                    imported = now
                if startup is None and line.startswith("0: accuracy:"):
                    startup, startup_cpu = now, cpu_seconds(child.pid)
                found = TEST_LINE.match(line)
                if found:
                    accuracy = float(found.group(3))
                    best = max(best, accuracy)
                    if accuracy >= goal:
                        reached, iteration, epoch = now, int(found.group(1)), float(found.group(2))
                        cpu = cpu_seconds(child.pid)
                        break
        finally:
            child.terminate()
            child.wait()
        if startup is None:
            errors.seek(0)
            raise RuntimeError(f"rung {rung} printed no training line:\n{errors.read()[-2000:]}")
    return startup, reached, iteration, epoch, best, cpu, startup_cpu, imported


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per goal")
    parser.add_argument("--repeat", type=int, help="runs per goal (default: 1 with --quick, else 2)")
    parser.add_argument("--rungs", nargs="+", default=[g[0] for g in GOALS], choices=[g[0] for g in GOALS])
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 2)
    rows = []
    for rung, goal, cap, target in [g for g in GOALS if g[0] in args.rungs]:
        runs, bare = [], []
        for _ in range(repeat):  # alternated, so that both see the same machine load
            bare.append(import_seconds(BARE_IMPORT))
            runs.append(run(rung, goal, cap))
        for r in runs:
            print(f"{rung} to {goal}: startup {r[0]:.2f} s, reached {r[1]} s at iteration {r[2]}",
                  file=sys.stderr, flush=True)
        startups = [r[0] for r in runs]
        reached = [r for r in runs if r[1] is not None]
        row = dict(rung=rung, goal=goal, cap=cap, runs=repeat, startup=median(startups),
                   startup_ok="pass" if median(startups) < STARTUP_TARGET else "MISS",
                   startup_cpu=median([r[6] for r in runs]) if all(r[6] is not None for r in runs) else None,
                   imports=median([r[7] for r in runs]), after_imports=median([r[0] - r[7] for r in runs]),
                   bare_import=median(bare),
                   best=max(r[4] for r in runs), reached=len(reached), target=target)
        if reached:
            row.update(seconds=median([r[1] for r in reached]), iteration=median([r[2] for r in reached]),
                       epoch=median([r[3] for r in reached]))
            if all(r[5] is not None for r in reached):
                row["cpu_seconds"] = median([r[5] for r in reached])
        if len(reached) < repeat:
            row["ok"] = f"MISS (not reached in {cap} iterations)"
        elif target is not None:
            row["ok"] = "pass" if row["seconds"] < target else "MISS"
        else:
            row["ok"] = "(no target)"
        rows.append(row)
    print(table(rows, COLUMNS))
    save_json(args.json, rows, quick=args.quick, startup_target=STARTUP_TARGET)
    return rows


COLUMNS = [("rung", "rung", "{}"), ("goal", "test accuracy", ">= {}"), ("runs", "runs", "{}"),
           ("seconds", "seconds", "{:.1f}"), ("iteration", "at iteration", "{:.0f}"),
           ("epoch", "epoch", "{:.2f}"), ("cpu_seconds", "child CPU s", "{:.0f}"), ("target", "target s", "< {:.0f}"), ("ok", "pass/miss", "{}"),
           ("startup", "startup s", "{:.2f}"), ("startup_ok", f"startup < {STARTUP_TARGET:.0f} s", "{}"),
           ("startup_cpu", "startup CPU s", "{:.1f}"), ("imports", "of which imports s", "{:.2f}"),
           ("after_imports", "after imports s", "{:.2f}"), ("bare_import", "bare import tensorflow s", "{:.2f}")]


if __name__ == "__main__":
    main()
