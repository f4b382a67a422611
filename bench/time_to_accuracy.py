"""Wall time, from process start, until a rung first says something, trains, and reaches a test
accuracy (text mode).

    python3 bench/time_to_accuracy.py [--quick] [--repeat N] [--rungs 3.1 2.1] [--json FILE]

Runs `python3 RUNG --text --iterations CAP` as a subprocess and reads its stdout as it comes:
- first line: the rung's first line (what it will do), printed before TensorFlow loads
  (target < 0.5 s);
- TensorFlow loaded: its line (`TensorFlow loaded in ...: training on ...`): the imports;
- startup: the first training line (`0: accuracy: ...`); target: no later than a process that
  only does `import tensorflow` (timed the same way, alternated with the runs: the least any
  TensorFlow program has on this machine) plus 0.5 s;
- the time to accuracy: a test line (`I: ********* epoch E ********* test accuracy: A ...`)
  first showing A >= the goal; the process is then stopped.
All include Python's start. The child's CPU time (all threads, from /proc) at the same moments
is shown too: on a machine shared with other jobs, wall times stretch, CPU times much less.
`python3 RUNG --help` is timed too, alternated (target < 1 s: it is answered before TensorFlow
loads), and so is the rung in a window on a virtual screen (Xvfb; skipped without Xvfb and
xdotool): when its window shows, against its `TensorFlow loaded` line (target: the window
first, while TensorFlow loads). --quick runs each goal once, the default twice (medians shown).
"""
import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, RUNGS, child_env, median, save_json, table  # noqa: E402

# rung, test accuracy to reach, cap on iterations, target seconds to reach it
GOALS = [("3.1", 0.99, 4000, 60.0), ("2.1", 0.98, 10000, None)]
FIRST_LINE_TARGET = 0.5  # seconds from the command to the rung's first line
STARTUP_OVER_BARE_IMPORT = 0.5  # the first training line: at most a bare import + 0.5 s
HELP_TARGET = 1.0
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


def help_seconds(rung):
    """Wall seconds of `python3 RUNG --help`, to its end."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, os.path.join(REPO, RUNGS[rung]), "--help"], cwd=REPO,
                          env=child_env(), capture_output=True, text=True)
    if done.returncode != 0 or "usage:" not in done.stdout:
        raise RuntimeError(f"{RUNGS[rung]} --help failed (exit status {done.returncode})")
    return time.perf_counter() - start


def window_seconds(rung, display):
    """(window shown, TensorFlow loaded): seconds from the command, for the rung in a window on
    `display`. The window is found by its title by one `xdotool search --sync`, started with
    the rung (one connection to the screen: xdotool started every few ms instead makes the
    rung's own connection fail now and then, Xvfb refusing one of the many)."""
    env = dict(child_env(), DISPLAY=display, MPLBACKEND="TkAgg")
    name = os.path.splitext(RUNGS[rung])[0]
    errors = tempfile.TemporaryFile("w+")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, os.path.join(REPO, RUNGS[rung]), "--iterations", "1"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=errors)
    search = subprocess.Popen(["xdotool", "search", "--sync", "--onlyvisible", "--name", name],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shown = loaded = None
    said = b""
    try:
        os.set_blocking(child.stdout.fileno(), False)
        while (shown is None or loaded is None) and child.poll() is None:
            if time.perf_counter() - start > 120:
                break
            try:
                said += os.read(child.stdout.fileno(), 1 << 16)
            except BlockingIOError:  # nothing new
                pass
            if loaded is None and b"TensorFlow loaded" in said:
                loaded = time.perf_counter() - start
            if shown is None and search.poll() == 0:
                shown = time.perf_counter() - start
            time.sleep(0.01)
    finally:
        for process in (child, search):
            process.terminate()
            process.wait()
    with errors:
        if shown is None or loaded is None:
            errors.seek(0)
            raise RuntimeError(f"rung {rung} in a window: window at {shown} s, TensorFlow loaded "
                               f"at {loaded} s, exit status {child.returncode}:\n"
                               f"{errors.read()[-2000:]}")
    return shown, loaded


def run(rung, goal, cap):
    """One run: {first_line, imported, startup, startup_cpu, reached, iteration, epoch, cpu,
    best}, seconds from the command (reached None if the goal was not reached)."""
    command = [sys.executable, os.path.join(REPO, RUNGS[rung]), "--text", "--iterations", str(cap)]
    got = dict(first_line=None, imported=None, startup=None, startup_cpu=None, reached=None,
               iteration=None, epoch=None, cpu=None, best=0.0)
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=subprocess.PIPE,
                                 stderr=errors, text=True, bufsize=1)
        try:
            for line in child.stdout:
                now = time.perf_counter() - start
                if got["first_line"] is None:
                    got["first_line"] = now
                if got["imported"] is None and line.startswith("TensorFlow loaded"):
                    got["imported"] = now
                if got["startup"] is None and line.startswith("0: accuracy:"):
                    got.update(startup=now, startup_cpu=cpu_seconds(child.pid))
                found = TEST_LINE.match(line)
                if found:
                    accuracy = float(found.group(3))
                    got["best"] = max(got["best"], accuracy)
                    if accuracy >= goal:
                        got.update(reached=now, iteration=int(found.group(1)),
                                   epoch=float(found.group(2)), cpu=cpu_seconds(child.pid))
                        break
        finally:
            child.terminate()
            child.wait()
        if got["startup"] is None or got["imported"] is None:
            errors.seek(0)
            raise RuntimeError(f"rung {rung} printed no training line:\n{errors.read()[-2000:]}")
    return got


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per goal")
    parser.add_argument("--repeat", type=int, help="runs per goal (default: 1 with --quick, else 2)")
    parser.add_argument("--rungs", nargs="+", default=[g[0] for g in GOALS], choices=[g[0] for g in GOALS])
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 2)
    with contextlib.ExitStack() as stack:
        display = None
        if shutil.which("Xvfb") and shutil.which("xdotool"):
            from overhead import VirtualScreen
            display = stack.enter_context(VirtualScreen())
        else:
            print("no Xvfb or xdotool: the window is not timed", file=sys.stderr)
        rows = [measure(*goal, repeat, display) for goal in GOALS if goal[0] in args.rungs]
    print(table(rows, COLUMNS))
    save_json(args.json, rows, quick=args.quick, first_line_target=FIRST_LINE_TARGET,
              startup_over_bare_import=STARTUP_OVER_BARE_IMPORT, help_target=HELP_TARGET)
    return rows


def measure(rung, goal, cap, target, repeat, display):
    """A row of the table: the runs of one goal, alternated with the bare import, --help and
    the window (where there is a display)."""
    runs, bare, helps, windows = [], [], [], []
    for _ in range(repeat):  # alternated, so that all see the same machine load
        bare.append(import_seconds(BARE_IMPORT))
        runs.append(run(rung, goal, cap))
        helps.append(help_seconds(rung))
        if display is not None:
            windows.append(window_seconds(rung, display))
    for r in runs:
        print(f"{rung} to {goal}: first line {r['first_line']:.2f} s, startup "
              f"{r['startup']:.2f} s, reached {r['reached']} s at iteration {r['iteration']}",
              file=sys.stderr, flush=True)

    def middle(key, among=runs):
        values = [r[key] for r in among]
        return median(values) if values and None not in values else None
    reached = [r for r in runs if r["reached"] is not None]
    over_bare = median([r["startup"] - b for r, b in zip(runs, bare)])  # pairs, alternated
    row = dict(rung=rung, goal=goal, cap=cap, runs=repeat, first_line=middle("first_line"),
               help=median(helps), startup=middle("startup"), bare_import=median(bare),
               over_bare=over_bare, imports=middle("imported"),
               after_imports=median([r["startup"] - r["imported"] for r in runs]),
               startup_cpu=middle("startup_cpu"), best=max(r["best"] for r in runs),
               reached=len(reached), target=target)
    if windows:
        row.update(window=median([w for w, _ in windows]),
                   window_loaded=median([loaded for _, loaded in windows]))
        row["window_ok"] = "pass" if all(w < loaded for w, loaded in windows) else "MISS"
    row["first_line_ok"] = "pass" if row["first_line"] < FIRST_LINE_TARGET else "MISS"
    row["help_ok"] = "pass" if row["help"] < HELP_TARGET else "MISS"
    row["startup_ok"] = "pass" if over_bare <= STARTUP_OVER_BARE_IMPORT else "MISS"
    if reached:
        row.update(seconds=middle("reached", reached), iteration=middle("iteration", reached),
                   epoch=middle("epoch", reached), cpu_seconds=middle("cpu", reached))
    if len(reached) < repeat:
        row["ok"] = f"MISS (not reached in {cap} iterations)"
    elif target is not None:
        row["ok"] = "pass" if row["seconds"] < target else "MISS"
    else:
        row["ok"] = "(no target)"
    return row


COLUMNS = [("rung", "rung", "{}"), ("goal", "test accuracy", ">= {}"), ("runs", "runs", "{}"),
           ("seconds", "seconds", "{:.1f}"), ("iteration", "at iteration", "{:.0f}"),
           ("epoch", "epoch", "{:.2f}"), ("cpu_seconds", "child CPU s", "{:.0f}"),
           ("target", "target s", "< {:.0f}"), ("ok", "pass/miss", "{}"),
           ("first_line", "first line s", "{:.2f}"),
           ("first_line_ok", f"< {FIRST_LINE_TARGET} s", "{}"),
           ("help", "--help s", "{:.2f}"), ("help_ok", f"< {HELP_TARGET:.0f} s", "{}"),
           ("imports", "TensorFlow loaded s", "{:.2f}"),
           ("startup", "first training line s", "{:.2f}"),
           ("bare_import", "bare import tensorflow s", "{:.2f}"),
           ("over_bare", "startup - bare import s", "{:+.2f}"),
           ("startup_ok", f"<= +{STARTUP_OVER_BARE_IMPORT} s", "{}"),
           ("after_imports", "after TensorFlow loaded s", "{:.2f}"),
           ("startup_cpu", "startup CPU s", "{:.1f}"),
           ("window", "window shown s", "{:.2f}"),
           ("window_loaded", "its TensorFlow loaded s", "{:.2f}"),
           ("window_ok", "window first", "{}")]


if __name__ == "__main__":
    main()
