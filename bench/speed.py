"""Training speed of each rung against the same model written with Keras.

    python3 bench/speed.py [--quick] [--rungs 2.1 3.1] [--json FILE]

For each rung, in one process: (a) the rung's own `training_step`, driven by the runner's own
`Trainer` as in text mode (calls of 20 mini-batches of 100, in the order of
`mnist.train.next_indices`, gathered inside the graph from the training set; XLA for the steps
without convolutions, as the runner decides) and (b) the same model as a
`keras.Sequential` (same layers, initialisation, optimizer, learning rate schedule and scaled
loss) trained with `model.fit(x, y, batch_size=100, epochs=1, shuffle=True)` on N*100 examples.
After a warm-up of both (tracing excluded), the two are alternated (ours N iterations, Keras N
iterations, then Keras first, ...). ms/iteration is the median over the alternations, the ratio
the median of the per-alternation ratios ours/keras. Keras is timed from `on_train_begin` to
`on_train_end` (its per-call set-up left out), ours includes choosing the batches: both
choices favour Keras. The CPU time of the process (all threads) is shown beside the wall time:
on a machine shared with other jobs it is the steadier measure of the work done. FLOPs are
counted analytically (forward: matmul 2*m*n*k, conv 2*kh*kw*cin*cout*Hout*Wout per image;
a training iteration = 3x forward). Both sides run with the CPU settings the rungs get from
`tensorflowvisu` (oneDNN on unless TF_ENABLE_ONEDNN_OPTS is set in the environment).
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, REPO, RUNGS, median, save_json, table  # noqa: E402
from models import MODELS, flops_per_iteration, is_convolutional  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["MNIST_DATA_DIR"] = DATA_DIR
sys.path.insert(0, REPO)
import tensorflowvisu  # noqa: E402,F401  (before TensorFlow: it sets TensorFlow's CPU options as for the rungs)

TARGET = 0.8
CHUNK = 20  # mini-batches per call of many_training_steps, as the runner in text mode
BATCH = 100

def clocks():
    """(wall, CPU) seconds: CPU time (all threads of this process) is much less disturbed than
    wall time by the other jobs of a shared machine."""
    return time.perf_counter(), time.process_time()


def ours(rung):
    """A function training the rung's own model for n iterations, as the runner does in text
    mode (through its Trainer); it returns (wall, CPU) seconds."""
    from visu import ladder
    from visu.training import Trainer
    g = ladder.load(rung)
    mnist = g["mnist"]
    trainer = Trainer(g["training_step"], mnist.train)

    def train(n):
        wall, cpu = clocks()
        for start in range(0, n, CHUNK):
            trainer.train(min(CHUNK, n - start))
        end_wall, end_cpu = clocks()
        return end_wall - wall, end_cpu - cpu
    return train, mnist


def keras_trainer(rung, mnist):
    """A function training the Keras model for n iterations with model.fit; it returns the
    (wall, CPU) seconds from on_train_begin to on_train_end (fit's set-up left out)."""
    import keras
    model = keras_model(rung)

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = clocks()

        def on_train_end(self, logs=None):
            self.seconds = tuple(end - start for end, start in zip(clocks(), self.start))

    def train(n):
        images, labels = mnist.train.next_batch(n * BATCH)
        timer = Timer()
        model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
        return timer.seconds
    return train


def keras_model(rung):
    """The rung's model as a keras.Sequential: same layers, initialisation, loss, optimizer and
    learning rate schedule; batch norm with Keras' BatchNormalization layer."""
    import keras
    from keras import layers, ops
    spec = MODELS[rung]
    weights = keras.initializers.TruncatedNormal(stddev=0.1) if rung != "1.0" else "zeros"
    bias = keras.initializers.Constant(spec["bias"])
    model = keras.Sequential([keras.Input((28, 28, 1))])

    def hidden(layer):  # a hidden layer: its weighted sums, batch norm, the activation
        if spec["bn"]:
            model.add(layer(use_bias=False, kernel_initializer=weights))
            model.add(layers.BatchNormalization(momentum=spec["bn_decay"], epsilon=1e-5,
                                                beta_initializer=bias, scale=spec["bn"] == "scale"))
            model.add(layers.Activation(spec["activation"]))
        else:
            model.add(layer(activation=spec["activation"], kernel_initializer=weights,
                            bias_initializer=bias))

    for kernel, stride, channels in spec["convs"]:
        hidden(lambda **kw: layers.Conv2D(channels, kernel, strides=stride, padding="same", **kw))
    model.add(layers.Flatten())
    for units in spec["dense"]:
        hidden(lambda **kw: layers.Dense(units, **kw))
        if spec["dropout"]:
            model.add(layers.Dropout(spec["dropout"]))
    last_bias = keras.initializers.Constant(0.0 if spec["bn"] else spec["bias"])
    if spec["optimizer"] == "sgd":  # softmax output and the naive cross-entropy: -mean(Y_ * log(Y)) * 1000
        model.add(layers.Dense(10, activation="softmax", kernel_initializer=weights,
                               bias_initializer=last_bias))
        loss = lambda y, p: -ops.mean(y * ops.log(p), axis=-1) * 1000.0  # noqa: E731
        opt = keras.optimizers.SGD(spec["lr"][0])
    else:  # logits and the stable cross-entropy, mean over the batch * 100
        model.add(layers.Dense(10, kernel_initializer=weights, bias_initializer=last_bias))
        loss = lambda y, logits: ops.categorical_crossentropy(y, logits, from_logits=True) * 100.0  # noqa: E731
        opt = keras.optimizers.Adam(decay_schedule(*spec["lr"]) if spec["lr"][1] else spec["lr"][0])
    model.compile(optimizer=opt, loss=loss)
    return model


def decay_schedule(start, speed):
    import keras

    class Decay(keras.optimizers.schedules.LearningRateSchedule):
        """lr = 0.0001 + start * exp(-step / speed), as the rungs 2.1 and up."""

        def __call__(self, step):
            return 0.0001 + start * keras.ops.exp(-keras.ops.cast(step, "float32") / speed)

        def get_config(self):
            return {}
    return Decay()


def bench_rung(rung, iterations, alternations):
    ours_train, mnist = ours(rung)
    keras_train = keras_trainer(rung, mnist)
    ours_train(2)  # warm-up: traces training_step, then many_training_steps
    keras_train(5)  # warm-up: traces Keras' train function, builds the optimizer
    times = {"ours": [], "keras": []}
    for k in range(alternations):
        for name in (["ours", "keras"] if k % 2 == 0 else ["keras", "ours"]):  # ABBA against drift
            seconds = (ours_train if name == "ours" else keras_train)(iterations)
            times[name].append([1000 * s / iterations for s in seconds])  # ms/it: wall, CPU
    ours_ms, keras_ms = ([t[0] for t in times[n]] for n in ("ours", "keras"))
    ours_cpu, keras_cpu = ([t[1] for t in times[n]] for n in ("ours", "keras"))
    ratio = median([o / k for o, k in zip(ours_ms, keras_ms)])
    flops = flops_per_iteration(rung)
    return dict(rung=rung, iterations=iterations, alternations=alternations,
                ours_ms=median(ours_ms), keras_ms=median(keras_ms), ratio=ratio,
                ours_cpu=median(ours_cpu), keras_cpu=median(keras_cpu),
                cpu_ratio=median([o / k for o, k in zip(ours_cpu, keras_cpu)]),
                mflops=flops / 1e6, gflops_s=flops / (median(ours_ms) / 1000) / 1e9, target=TARGET,
                ok="pass" if ratio <= TARGET else "MISS")


COLUMNS = [("rung", "rung", "{}"), ("iterations", "N", "{}"), ("alternations", "alt", "{}"),
           ("ours_ms", "ms/it ours", "{:.2f}"), ("keras_ms", "ms/it keras", "{:.2f}"),
           ("ratio", "ratio ours/keras", "{:.2f}"), ("ok", f"<= {TARGET}", "{}"),
           ("mflops", "MFLOP/it", "{:.1f}"), ("gflops_s", "GFLOP/s ours", "{:.1f}"),
           ("ours_cpu", "CPU ms/it ours", "{:.2f}"), ("keras_cpu", "CPU ms/it keras", "{:.2f}"),
           ("cpu_ratio", "CPU ratio", "{:.2f}")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (all rungs in < 60 s)")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(RUNGS))
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    args = parser.parse_args(argv)
    # (iterations, alternations) for the dense rungs, for the convolutional ones
    dense, conv = ((40, 4), (20, 2)) if args.quick else ((200, 8), (100, 8))
    rows = []
    for rung in args.rungs:
        rows.append(bench_rung(rung, *(conv if is_convolutional(rung) else dense)))
        row = rows[-1]
        print(f"{rung}: ours {row['ours_ms']:.2f} ms/it, keras {row['keras_ms']:.2f} ms/it, "
              f"ratio {row['ratio']:.2f}", file=sys.stderr, flush=True)
    print(table(rows, COLUMNS))
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    print(f"TF_ENABLE_ONEDNN_OPTS={onednn}")
    save_json(args.json, rows, quick=args.quick, target=TARGET, onednn=onednn)
    return rows


if __name__ == "__main__":
    main()
