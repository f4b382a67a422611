"""Where the time of one training iteration goes, ours against Keras, from TensorFlow's profiler.

    python3 bench/step_profile.py [--rungs 3.1] [--iterations 100] [--repeat 4] [--top 12]

Trains the two sides of bench/speed.py (the rung's own step driven as the runner drives it, and
the same model in Keras `model.fit`) for N iterations under `tf.profiler`, after a warm-up,
alternated (ours, Keras, Keras, ours, ...), and reads each trace (the XSpace protobuf the
profiler writes). For each side, per training iteration, averaged over the profiles:

- the time of each kind of kernel (the op as it ran, e.g. `_MklNativeConv2DBackpropInput`; with
  XLA, the compiled operations and fusions, e.g. `XLA MatMul`, `XLA multiply_add_fusion`),
  summed over TensorFlow's compute threads: CPU time spent in the model's arithmetic;
- in graph: the wall time spent inside calls of the graph function (`KernelAndDeviceFunc::Run`,
  or `CpuExecutable::ExecuteAsyncOnStream` for an XLA-compiled one);
- outside graph: the rest of the wall time: Python, the data feed, fit's per-batch machinery.

The two sides run the same kernels; what can differ is the set of kernels (fusions) and the
time between two calls of the graph. The profiler adds its own cost: compare the two sides,
not these times with speed.py's. On a machine shared with other jobs, one profile's kernel
times move by 10-30%: hence the repeats.
"""
import argparse
import collections
import glob
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RUNGS, save_json, table  # noqa: E402
import speed  # noqa: E402  (imports tensorflowvisu first, for the rungs' CPU settings)


def profile(train, iterations):
    """Train `iterations` iterations under the profiler; return (wall s, {kernel: CPU s}, in-graph s)."""
    import tensorflow as tf
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        sys.exit("error: this TensorFlow has no tensorflow.tsl.profiler.protobuf.xplane_pb2 to read "
                 "the profiler's trace with")
    logdir = tempfile.mkdtemp(prefix="tf-profile-")
    try:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        train(iterations)
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
            space.ParseFromString(f.read())
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    kernels, in_graph, in_xla = collections.Counter(), 0.0, 0.0
    for plane in space.planes:
        names = plane.event_metadata
        for line in plane.lines:
            for event in line.events:
                name, seconds = names[event.metadata_id].name, event.duration_ps / 1e12
                if line.name.startswith("tf_Compute") and ":" in name and "::" not in name:
                    kernels[name.rsplit(":", 1)[1]] += seconds  # "node name:kernel"
                elif line.name.startswith("tf_numa") and "::" not in name:
                    kernels["XLA " + re.sub(r"\.\d+$", "", name)] += seconds  # "MatMul.36": HLO op
                elif name == "KernelAndDeviceFunc::Run":  # a call of the graph function, on the caller's line
                    in_graph += seconds
                elif name == "CpuExecutable::ExecuteAsyncOnStream":  # a call of an XLA-compiled one
                    in_xla += seconds
    return wall, kernels, in_graph + in_xla


def profile_rung(rung, iterations, top, repeat):
    """Rows for one rung: the `top` kernels by time, then the totals; ms per iteration, summed
    over `repeat` profiles of each side, alternated (ours, Keras, then Keras, ours, ...)."""
    trainers = {}
    trainers["ours"], mnist = speed.ours(rung)
    trainers["keras"] = speed.keras_trainer(rung, mnist)
    trainers["ours"](2)
    trainers["keras"](5)
    for train in trainers.values():
        train(iterations)  # warm: oneDNN builds its primitives on first use
    wall, in_graph = collections.Counter(), collections.Counter()  # seconds, all profiles together
    kernel_seconds = {"ours": collections.Counter(), "keras": collections.Counter()}
    for k in range(repeat):
        for name in (["ours", "keras"] if k % 2 == 0 else ["keras", "ours"]):
            seconds, kernels, graph = profile(trainers[name], iterations)
            wall[name] += seconds
            in_graph[name] += graph
            kernel_seconds[name].update(kernels)
    scale = 1000 / (iterations * repeat)  # seconds in all -> ms per iteration
    per_it = {name: {kernel: s * scale for kernel, s in kernels.items()} for name, kernels in kernel_seconds.items()}
    wall = {name: s * scale for name, s in wall.items()}
    in_graph = {name: s * scale for name, s in in_graph.items()}
    everything = sorted(set(per_it["ours"]) | set(per_it["keras"]),
                        key=lambda k: -max(per_it["ours"].get(k, 0), per_it["keras"].get(k, 0)))
    rows = [dict(rung=rung, what=k, ours=per_it["ours"].get(k), keras=per_it["keras"].get(k))
            for k in everything[:top]]
    rest = everything[top:]
    rows.append(dict(rung=rung, what=f"{len(rest)} other kernels",
                     ours=sum(per_it["ours"].get(k, 0) for k in rest),
                     keras=sum(per_it["keras"].get(k, 0) for k in rest)))
    for label, values in [("all kernels (CPU ms, both threads)", {n: sum(per_it[n].values()) for n in per_it}),
                          ("in graph (wall ms)", in_graph),
                          ("outside graph (wall ms)", {n: wall[n] - in_graph[n] for n in per_it}),
                          ("wall per iteration (ms)", wall)]:
        rows.append(dict(rung=rung, what=label, ours=values["ours"], keras=values["keras"]))
    return rows


COLUMNS = [("rung", "rung", "{}"), ("what", "kernel, or total", "{}"), ("ours", "ours ms/it", "{:.2f}"),
           ("keras", "keras ms/it", "{:.2f}")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rungs", nargs="+", default=["3.1"], choices=list(RUNGS))
    parser.add_argument("--iterations", type=int, default=100, help="profiled iterations per side")
    parser.add_argument("--top", type=int, default=12, help="kernels shown one by one")
    parser.add_argument("--repeat", type=int, default=4, help="profiles of each side, alternated")
    parser.add_argument("--quick", action="store_true", help="40 iterations, 2 profiles of each side")
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    iterations, repeat = (40, 2) if args.quick else (args.iterations, args.repeat)
    rows = [row for rung in args.rungs for row in profile_rung(rung, iterations, args.top, repeat)]
    print(table(rows, COLUMNS))
    save_json(args.json, rows, quick=args.quick, iterations=iterations, repeat=repeat)
    return rows


if __name__ == "__main__":
    main()
