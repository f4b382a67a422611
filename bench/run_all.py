"""Run every benchmark and write bench/results.md.

    python3 bench/run_all.py [--quick] [--only speed loader ...]

Each benchmark runs as a subprocess (its progress shows on the terminal) and hands its
results back as JSON; results.md gets the machine, the versions and one table per benchmark.
With --only, the named sections are replaced (each says when and at which commit it was re-run)
and the file's other sections are kept as they were.
"""
import argparse
import datetime
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time

ONEDNN = os.environ.get("TF_ENABLE_ONEDNN_OPTS")  # before speed.py imports tensorflowvisu, which sets it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loader  # noqa: E402
import overhead  # noqa: E402
import peers  # noqa: E402
import speed  # noqa: E402
import step_profile  # noqa: E402
import time_to_accuracy  # noqa: E402
from common import BENCH, REPO, markdown_table  # noqa: E402

BENCHMARKS = ["speed", "peers", "step_profile", "overhead", "time_to_accuracy", "loader"]


def machine():
    def first(path, key):
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(key)), "?")

    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip() or "?"
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                 capture_output=True, text=True).stdout.split("\n")
        changed = [line[3:] for line in changed if line[3:] and line[3:] != "bench/results.md"]
        if changed:  # what was measured is not that commit alone
            commit += f" with uncommitted changes to {', '.join(changed)}"
    except OSError:
        commit = "?"
    ram = int(first("/proc/meminfo", "MemTotal").split()[0]) / 2**20
    flags = first("/proc/cpuinfo", "flags").split()
    simd = " ".join(f for f in flags if f.startswith(("avx", "amx", "fma")))
    versions = ", ".join(f"{p} {version(p)}" for p in ["tensorflow", "keras", "numpy", "matplotlib"])
    return [f"- Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, repo at commit {commit}",
            f"- Machine: {os.cpu_count()} cores, {first('/proc/cpuinfo', 'model name')}, {ram:.1f} GiB RAM",
            f"- Python {sys.version.split()[0]}, {versions}",
            f"- TF_ENABLE_ONEDNN_OPTS={ONEDNN or 'unset, so 1: tensorflowvisu turns oneDNN on'} "
            f"(TensorFlow's own default turns oneDNN on only with avx512_vnni, avx512_bf16 or amx; "
            f"this CPU has {simd or 'none'})"]


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(name, quick):
    """Run bench/NAME.py, return (its JSON results or None, seconds)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    start = time.perf_counter()
    print(f"== {name}", flush=True)
    done = subprocess.run([sys.executable, os.path.join(BENCH, name + ".py"), "--json", path]
                          + (["--quick"] if quick else []), cwd=REPO)
    seconds = time.perf_counter() - start
    try:
        with open(path) as f:
            results = json.load(f) if done.returncode == 0 else None
    except (OSError, ValueError):
        results = None
    finally:
        os.unlink(path)
    return results, seconds


TITLES = {"speed": "1. Training step speed against Keras (bench/speed.py)",
          "peers": "1a. Training step speed against PyTorch and JAX (bench/peers.py)",
          "step_profile": "1b. Where a 3.1 iteration's time goes, ours against Keras (bench/step_profile.py)",
          "overhead": "2. Dashboard overhead (bench/overhead.py)",
          "time_to_accuracy": "3. Time to accuracy, text mode (bench/time_to_accuracy.py)",
          "loader": "4. Loader and memory (bench/loader.py)"}


def section(name, results, seconds):
    lines = [f"## {TITLES[name]}", ""]
    if results is None:
        return lines + ["The benchmark failed: see its output.", ""]
    rows = results["rows"]
    if name == "speed":
        lines += [f"Target: ratio ours/keras <= {speed.TARGET} (wall time, median of the alternations). "
                  "CPU: CPU time of the process, all threads (steadier on a shared machine). "
                  f"TF_ENABLE_ONEDNN_OPTS={results['onednn']}.", "",
                  markdown_table(rows, speed.COLUMNS)]
    elif name == "step_profile":
        lines += [f"TensorFlow's profiler, {results['repeat']} profiles of {results['iterations']} iterations "
                  "per side, alternated; ms per iteration. Kernels: CPU time of each kind of kernel, "
                  "summed over TensorFlow's two compute threads. In graph: wall time inside the calls "
                  "of the graph function; outside graph: the rest (Python, the data feed, fit's "
                  "per-batch work). The profiler slows the Python side: compare the two columns, "
                  "not these times with section 1.", "",
                  markdown_table(rows, step_profile.COLUMNS)]
    elif name == "peers":
        lines += ["ms per training iteration (batch 100) of the same model, initialisation, loss, "
                  "optimizer, learning-rate schedule and data feed, each side in its own process, "
                  f"alternated in rounds; medians over {rows[0]['rounds'] if rows else '?'} rounds. "
                  "Target: ours / the fastest peer <= 1.0 on every rung. Sides measured: "
                  f"{', '.join(results.get('sides', []))}.", "",
                  markdown_table(rows, peers.columns(results.get("sides", peers.SIDES)))]
        compared = [row for row in rows if row.get("merit") is not None]
        if compared:
            worst = max(compared, key=lambda row: row["merit"])
            lines += ["", f"Worst ratio ours/fastest peer: {worst['merit']:.2f} (rung {worst['rung']})."]
        failed = [f"{row['rung']} {side}: {why}" for row in rows for side, why in row["failed"].items()]
        lines += ["", "Failed: " + "; ".join(failed) + "."] if failed else []
    elif name == "overhead":
        lines += ["Each rung in text mode, then drawing its dashboard in a real Tk window on a "
                  f"virtual screen (Xvfb, {results.get('screen') or 'none: Agg offscreen'}) at every "
                  "update (window) or within a time budget (--fast), alternated. Times are those of "
                  "`MnistDataVis.animate`, measured inside the child: TensorFlow's import and the "
                  "data loading are left out. Set-up s: making the dashboard and its window, a fixed "
                  "cost; without set-up: the ratio once it is left out. Updates drawn/due, frames "
                  "and frame times are the dashboard's own report; frame CPU ms: the drawing "
                  "thread's CPU time in a frame (the next steps train beside it, on the same two "
                  "cores). Targets, in the window: every "
                  f"update drawn; dense rungs: median frame <= {overhead.FRAME_TARGET_MS} ms, and "
                  f">= {overhead.FPS_TARGET} frames/s on rung 1.0 (the others' training sets their "
                  "frame rate); convolutional rungs: dashboard/text without "
                  f"set-up <= {overhead.CONV_RATIO_TARGET}. Rung 1.0 also runs on a "
                  f"{results.get('big_screen') or '-'} screen.", ""]
        if results.get("note"):
            lines += [f"**Not measured:** {results['note']}."]
        else:
            lines += [markdown_table(rows, overhead.COLUMNS)]
    elif name == "time_to_accuracy":
        lines += [f"Seconds from the command, text mode. Targets: rung 3.1 to 0.99 in < 60 s; the "
                  f"first line (before TensorFlow loads) < {results['first_line_target']} s; "
                  f"`--help` < {results['help_target']:.0f} s; the first training line no later "
                  f"than a bare `import tensorflow` + {results['startup_over_bare_import']} s "
                  "(a process that only imports TensorFlow, timed the same way, alternated with the "
                  "runs: the least startup of any TensorFlow program on this machine). Child CPU "
                  "s: the rung's CPU time (all threads) at the same moment. Window shown s: the "
                  "rung run in a window on a virtual screen, when its window shows, against its "
                  "TensorFlow loaded line (target: the window first).", "",
                  markdown_table(rows, time_to_accuracy.COLUMNS)]
    elif name == "loader":
        lines += [markdown_table([results["load"]], loader.LOAD_COLUMNS), "",
                  "Peak resident memory of a short text-mode run (ru_maxrss of the child):", "",
                  markdown_table(rows, loader.MEMORY_COLUMNS)]
    return lines + ["", f"({'quick' if results.get('quick') else 'default'} mode, {seconds:.0f} s)", ""]


def read_sections(path):
    """(header lines, {benchmark name: its section's lines}) of an earlier results.md, or None."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError:
        return None
    by_title = {f"## {title}": name for name, title in TITLES.items()}
    header, sections, current = [], {}, None
    for line in lines:
        if line.startswith("## "):
            current = by_title.get(line)
            if current is None:
                return None  # a section this script does not write: rewrite the file whole
            sections[current] = []
        if current is None:
            header.append(line)
        else:
            sections[current].append(line)
    return header, sections


def write(path, sections, loads, failed=()):
    """Write results.md from {benchmark name: its section's lines}: the whole file when every
    benchmark ran, else the earlier file with these sections replaced and the others kept (and
    those of the benchmarks in failed, whose sections only say that they failed)."""
    header = ["# Benchmark results", ""] + machine()
    kept = read_sections(path) if set(sections) != set(BENCHMARKS) else None
    if kept is None:
        header += [f"- Load average (1, 5, 15 min) {loads}; the machine may be shared with other "
                   "jobs: compare ratios, not absolute times", ""]
    else:
        now, (header, earlier) = header, kept
        where = "".join(f"; {line[2:]}" for line in now[3:] if line not in header)  # if it changed
        sections = {name: lines for name, lines in sections.items()
                    if name not in failed or name not in earlier}
        for lines in sections.values():
            lines[2:2] = [f"Re-run alone on {now[2].removeprefix('- Date: ')} (`run_all.py "
                          f"--only`; load average {loads}{where}); the other sections are from "
                          "the run the header names.", ""]
        sections = {**earlier, **sections}
    body = [line for name in BENCHMARKS if name in sections for line in sections[name]]
    with open(path + ".part", "w") as f:
        f.write("\n".join(header + body))
    os.replace(path + ".part", path)  # a run cut off leaves the earlier file whole


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the quick mode of every benchmark")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    parser.add_argument("--output", default=os.path.join(BENCH, "results.md"))
    args = parser.parse_args()
    before = load_average()
    sections, failed = {}, []
    for name in args.only:
        results, seconds = run(name, args.quick)
        sections[name] = section(name, results, seconds)
        failed += [name] if results is None else []
    write(args.output, sections, f"before: {before}, after: {load_average()}", failed)
    for name in failed:
        print(f"{name} failed: see its output above")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
