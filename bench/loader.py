"""The MNIST loader's speed, and each rung's peak memory.

    python3 bench/loader.py [--quick] [--json FILE]

1. `mnistdata.read_data_sets` parsing all 70,000 digits from the four .gz files: best of 5
   (--quick: 3), with where the time goes (gzip, sha256 check, conversion to float32).
2. Peak resident memory (ru_maxrss of the child, from os.wait4) of each rung run in text mode
   for a short run (--iterations 100; --quick: 20).
"""
import argparse
import gzip
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, REPO, RUNGS, child_env, save_json, table  # noqa: E402

sys.path.insert(0, REPO)
import mnistdata  # noqa: E402

LOAD_TARGET = 0.5


def best_of(n, function):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def load_times(repeat):
    """Best-of-`repeat` seconds of the whole load and of its parts."""
    paths = [os.path.join(DATA_DIR, name) for name in mnistdata.FILES]
    raw = [open(p, "rb").read() for p in paths]
    data = [gzip.decompress(r) for r in raw]
    return dict(
        total=best_of(repeat, lambda: mnistdata.read_data_sets(DATA_DIR)),
        gunzip=best_of(repeat, lambda: [gzip.decompress(r) for r in raw]),
        sha256=best_of(repeat, lambda: [hashlib.sha256(d).digest() for d in data]),
    )


def peak_memory(rung, iterations):
    """(peak resident MiB, wall seconds) of a rung's short run in text mode."""
    command = [sys.executable, os.path.join(REPO, RUNGS[rung]), "--text", "--iterations", str(iterations)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        raise RuntimeError(f"rung {rung} failed (exit status {child.returncode}):\n{errors[-2000:]}")
    return usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    repeat, iterations = (3, 20) if args.quick else (5, 100)

    times = load_times(repeat)
    load = dict(what=f"read_data_sets, 70,000 digits, best of {repeat}", seconds=times["total"], target=LOAD_TARGET,
                ok="pass" if times["total"] <= LOAD_TARGET else "MISS",
                parts=f"gunzip {times['gunzip']:.2f} s, sha256 {times['sha256']:.2f} s, "
                      f"rest {times['total'] - times['gunzip'] - times['sha256']:.2f} s")
    print(table([load], LOAD_COLUMNS))

    rows = []
    for rung in RUNGS:
        mib, wall = peak_memory(rung, iterations)
        rows.append(dict(rung=rung, iterations=iterations, peak_mib=mib, wall=wall))
    print(table(rows, MEMORY_COLUMNS))
    save_json(args.json, rows, load=load, quick=args.quick)
    return load, rows


LOAD_COLUMNS = [("what", "load", "{}"), ("seconds", "seconds", "{:.3f}"),
                ("target", "target s", "<= {}"), ("ok", "pass/miss", "{}"), ("parts", "of which", "{}")]
MEMORY_COLUMNS = [("rung", "rung", "{}"), ("iterations", "--iterations", "{}"),
                  ("peak_mib", "peak RSS MiB", "{:.0f}"), ("wall", "wall s", "{:.1f}")]


if __name__ == "__main__":
    main()
