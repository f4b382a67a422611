"""Training speed of each rung against the same model in its peer frameworks: PyTorch (eager and
torch.compile), JAX and Keras on the JAX backend.

    python3 bench/peers.py [--quick] [--rungs 2.1 3.1] [--peers torch jax] [--iterations N]
                           [--rounds K] [--json FILE]

The sides:
- ours: the rung's own `training_step` (TensorFlow), trained by the runner's `Trainer` in calls of
  20 iterations, as in text mode (batches from `mnist.train.next_batch`);
- torch: an `nn.Module` built from bench/models.py, trained eagerly with torch.optim;
- torch.compile: the same module wrapped in `torch.compile` (the optimizer step stays eager);
- jax: a `jax.jit`-compiled training step (forward, gradient and optax update in one function);
- keras-jax: speed.py's `keras.Sequential` on the JAX backend, trained with `model.fit` on N*100
  examples from `next_batch`, timed from `on_train_begin` to `on_train_end`, as speed.py does.
Every side trains the same model: layers and sizes, initialisation (truncated normal, stddev 0.1),
scaled loss, optimizer (Adam with Keras' epsilon 1e-7, or SGD on rung 1.0) and learning rate
schedule, batches of 100 float32 images. The peers keep the 60,000 training images as their own
tensors and gather each batch from them by index, in a fresh seeded random order each epoch.
(PyTorch's tensors are NCHW, its natural layout; TensorFlow's SAME padding is reproduced; batch
norm's moving averages use the rung's final decay from the first step.)

Each measurement is a child process (`peers.py --child SIDE RUNG N`): it builds its side, trains
WARMUP iterations (tracing and compiling left out), then times N iterations, wall and CPU time
(all threads of the process), and prints one line. It also prints the loss after the warm-up
and after the timed iterations (ours: on 1,000 test images; the peers: their mean training
loss): a side whose loss does not fall, or is not finite, is reported as failed, so that a
broken model cannot look fast. The sides
alternate in rounds (each round runs every side once, in an order rotated by one each round),
ms/iteration is the median over the rounds, and each ratio the median of the rounds' ratios.
The figure of merit is ours / the fastest peer (the peer with the least median ms/iteration).
"""
import argparse
import importlib.util
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, REPO, RUNGS, child_env, median, save_json, table  # noqa: E402
from models import MODELS, flops_per_iteration, is_convolutional, learning_rate  # noqa: E402

SIDES = ["ours", "torch", "torch.compile", "jax", "keras-jax"]
PEERS = SIDES[1:]
NEEDS = {"ours": ["tensorflow"], "torch": ["torch"], "torch.compile": ["torch"], "jax": ["jax", "optax"],
         "keras-jax": ["jax", "keras"]}  # the modules each side imports
BATCH = 100
CHUNK = 20  # iterations per call of our Trainer, as the runner in text mode
WARMUP = 20  # iterations before the timing: tracing, compiling, first allocations
TESTS = 1000  # test images of the loss check
ADAM_EPSILON = 1e-7  # Keras' default, which the rungs use (PyTorch's and optax's is 1e-8)
CHILD_TIMEOUT = 600  # seconds
RESULT = re.compile(r"^PEERS ms=(\S+) cpu_ms=(\S+) loss=(\S+),(\S+)$", re.M)


def clocks():
    """(wall, CPU) seconds; CPU: all threads of this process, much less disturbed than wall time
    by the other jobs of a shared machine."""
    return time.perf_counter(), time.process_time()


def since(start):
    """(wall, CPU) seconds since `start`, a clocks()."""
    return tuple(now - then for now, then in zip(clocks(), start))


class Batches:
    """Indices of mini-batches of 100: every epoch walks the 60,000 images once, in a fresh
    order from a seeded numpy permutation (as `next_batch` does); each peer gathers the images
    from its own tensors."""

    def __init__(self, count, seed=0):
        import numpy as np
        self.random = np.random.default_rng(seed)
        self.count = count
        self.order, self.position = None, count

    def next(self):
        if self.position + BATCH > self.count:  # 60,000 = 600 batches: epochs end on a batch
            self.order, self.position = self.random.permutation(self.count), 0
        self.position += BATCH
        return self.order[self.position - BATCH:self.position]


def layers(rung):
    """The rung's layers in order, as (kind, inputs, outputs, kernel, stride, input size): kind
    "conv" (kernel x kernel, input size x size pixels) or "dense"; the last is the dense 10."""
    spec = MODELS[rung]
    size, channels, found = 28, 1, []
    for kernel, stride, out in spec["convs"]:
        found.append(("conv", channels, out, kernel, stride, size))
        size, channels = math.ceil(size / stride), out
    width = size * size * channels
    for out in spec["dense"] + [10]:
        found.append(("dense", width, out, None, None, None))
        width = out
    return found


def same_padding(size, kernel, stride):
    """TensorFlow's SAME padding (before, after) of one dimension: the output has
    ceil(size / stride) pixels; an odd total pads one more after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2



def mnist():
    """The MNIST training and test sets: float32 images [n, 28, 28, 1], one-hot float32 labels."""
    import mnistdata
    return mnistdata.read_data_sets(DATA_DIR, one_hot=True)


# --- the sides: each builds its model and returns train(n) -> (wall s, CPU s, loss) ---

def ours(rung):
    """The rung's own training_step, through the runner's Trainer, 20 iterations per call; the
    loss: the rung's evaluate on the test images (its batch norm tests use moving averages that
    follow the first batches closely)."""
    from visu import ladder
    from visu.training import Trainer
    g = ladder.load(rung)  # runs the script without training: its variables, model, steps, data
    trainer = Trainer(g["training_step"], g["mnist"].train)
    images, labels = g["mnist"].test.images[:TESTS], g["mnist"].test.labels[:TESTS]

    def train(n):
        start = clocks()
        for done in range(0, n, CHUNK):
            trainer.train(min(CHUNK, n - done))
        wall, cpu = since(start)
        return wall, cpu, float(g["evaluate"](images, labels)[2])  # (Y, accuracy, loss, ...)
    return train


def torch_model(rung):
    """The rung's model as an nn.Sequential: weighted sums (no bias before batch norm), batch
    norm, activation, dropout after each dense hidden layer; then the dense 10, logits out.
    It takes NCHW images on the convolutional rungs, flat ones on the others."""
    import torch
    from torch import nn
    spec = MODELS[rung]

    class BatchNorm(nn.Module):
        """The rungs' batch norm: batch statistics in training, an offset that starts at `bias`
        and replaces the bias, a scale only with bn == "scale", moving averages for the tests."""

        def __init__(self, n):
            super().__init__()
            self.offset = nn.Parameter(torch.full((n,), float(spec["bias"])))
            self.scale = nn.Parameter(torch.ones(n)) if spec["bn"] == "scale" else None
            self.register_buffer("mean", torch.zeros(n))
            self.register_buffer("variance", torch.ones(n))

        def forward(self, x):
            return nn.functional.batch_norm(x, self.mean, self.variance, self.scale, self.offset,
                                            self.training, 1 - spec["bn_decay"], 1e-5)

    model = nn.Sequential()
    *hidden, last = layers(rung)
    for index, (kind, inputs, outputs, kernel, stride, size) in enumerate(hidden):
        if kind == "conv":
            before, after = same_padding(size, kernel, stride)
            if before != after:  # TensorFlow pads one more pixel after; PyTorch's padding is symmetric
                model.append(nn.ZeroPad2d((before, after, before, after)))
            model.append(nn.Conv2d(inputs, outputs, kernel, stride, before if before == after else 0,
                                   bias=not spec["bn"]))
        else:
            model.append(nn.Linear(inputs, outputs, bias=not spec["bn"]))
        if spec["bn"]:
            model.append(BatchNorm(outputs))
        model.append(nn.ReLU() if spec["activation"] == "relu" else nn.Sigmoid())
        if kind == "dense" and spec["dropout"]:
            model.append(nn.Dropout(spec["dropout"]))
        if index == len(spec["convs"]) - 1:
            model.append(nn.Flatten())
    model.append(nn.Linear(last[1], 10))
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                if rung == "1.0":
                    layer.weight.zero_()
                else:
                    nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
                if layer.bias is not None:
                    layer.bias.fill_(spec["bias"])
    return model


def torch_side(rung, compiled=False):
    """PyTorch, eager or through torch.compile: each batch gathered from the training images'
    tensor, the learning rate set before each step; the loss: the mean training loss."""
    import torch
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    spec = MODELS[rung]
    model = torch_model(rung)
    net = torch.compile(model) if compiled else model  # the same parameters
    data = mnist().train
    images = torch.from_numpy(data.images)
    images = images.permute(0, 3, 1, 2).contiguous() if is_convolutional(rung) else images.reshape(-1, 784)
    labels = torch.from_numpy(data.labels)
    if spec["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=spec["lr"][0])
    else:
        optimizer = torch.optim.Adam(model.parameters(), eps=ADAM_EPSILON)
    batches, step = Batches(len(images)), 0

    def cross_entropy(logits, y):
        if spec["optimizer"] == "sgd":  # rung 1.0's naive cross-entropy, as it computes it
            return -torch.mean(y * torch.log(torch.softmax(logits, 1))) * 1000
        return torch.nn.functional.cross_entropy(logits, y) * 100  # y: one-hot probabilities

    def train(n):
        nonlocal step
        start, losses = clocks(), []
        for _ in range(n):
            index = torch.from_numpy(batches.next())
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(rung, step)
            optimizer.zero_grad()
            loss = cross_entropy(net(images[index]), labels[index])
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            step += 1
        wall, cpu = since(start)
        return wall, cpu, torch.stack(losses).mean().item()
    return train


def jax_side(rung):
    """JAX: one jax.jit function per training step (the batch gathered by index from the images'
    array, forward, gradient, optax update); the parameters a list of dicts, one per layer; the
    loss: the mean training loss."""
    import jax
    import jax.numpy as jnp
    import optax
    spec = MODELS[rung]
    activation = jax.nn.relu if spec["activation"] == "relu" else jax.nn.sigmoid
    *hidden, last = layers(rung)
    rate = spec["dropout"]

    def layer(kind, inputs, outputs, kernel, key):
        shape = (kernel, kernel, inputs, outputs) if kind == "conv" else (inputs, outputs)  # HWIO
        weights = jnp.zeros(shape) if rung == "1.0" else 0.1 * jax.random.truncated_normal(key, -2, 2, shape)
        return {"w": weights, "b": jnp.full(outputs, spec["bias"], jnp.float32)}  # b: BN's offset too

    keys = jax.random.split(jax.random.key(0), len(hidden) + 2)
    params = [layer(kind, inputs, outputs, kernel, key)
              for (kind, inputs, outputs, kernel, _, _), key in zip(hidden + [last], keys)]
    stats = []  # the moving mean and variance of each batch norm
    if spec["bn"]:
        stats = [(jnp.zeros(outputs), jnp.ones(outputs)) for _, _, outputs, _, _, _ in hidden]
        if spec["bn"] == "scale":
            for p in params[:-1]:
                p["scale"] = jnp.ones_like(p["b"])

    def batch_norm(x, p, moving):
        """Statistics over the batch (and the pixels, for a convolution), and the new moving averages."""
        axes = tuple(range(x.ndim - 1))
        mean, variance = x.mean(axes), x.var(axes)
        decay = spec["bn_decay"]
        moved = (decay * moving[0] + (1 - decay) * mean, decay * moving[1] + (1 - decay) * variance)
        return (x - mean) * jax.lax.rsqrt(variance + 1e-5) * p.get("scale", 1.0) + p["b"], moved

    def cross_entropy(params, stats, x, y, key):
        """The scaled loss of a training forward pass (dropout, batch norm), and the new moving averages."""
        moved = []
        for index, ((kind, _, _, _, stride, _), p) in enumerate(zip(hidden, params)):
            if kind == "conv":
                x = jax.lax.conv_general_dilated(x, p["w"], (stride, stride), "SAME",
                                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
            else:
                x = x.reshape(len(x), -1) @ p["w"]  # flattens the images, or the last convolution
            if spec["bn"]:
                x, moving = batch_norm(x, p, stats[index])
                moved.append(moving)
            else:
                x = x + p["b"]
            x = activation(x)
            if kind == "dense" and rate:
                keep = jax.random.bernoulli(jax.random.fold_in(key, index), 1 - rate, x.shape)
                x = jnp.where(keep, x / (1 - rate), 0.0)
        logits = x.reshape(len(x), -1) @ params[-1]["w"] + params[-1]["b"]
        if spec["optimizer"] == "sgd":  # rung 1.0's naive cross-entropy, as it computes it
            return -jnp.mean(y * jnp.log(jax.nn.softmax(logits))) * 1000, moved
        return optax.softmax_cross_entropy(logits, y).mean() * 100, moved

    start, speed = spec["lr"]  # optax calls the schedule with the number of steps done
    schedule = start if speed is None else (lambda count: 0.0001 + start * jnp.exp(-count / speed))
    optimizer = optax.sgd(schedule) if spec["optimizer"] == "sgd" else optax.adam(schedule, eps=ADAM_EPSILON)
    state = optimizer.init(params)

    @jax.jit
    def step(params, stats, state, images, labels, index, i):
        grad = jax.value_and_grad(cross_entropy, has_aux=True)
        (loss, stats), grads = grad(params, stats, images[index], labels[index],
                                    jax.random.fold_in(keys[-1], i))  # dropout: a key per step
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), stats, state, loss

    data = mnist().train
    images, labels = jnp.asarray(data.images), jnp.asarray(data.labels)
    batches, done = Batches(len(images)), 0

    def train(n):
        nonlocal params, stats, state, done
        begin, losses = clocks(), []
        for _ in range(n):
            params, stats, state, loss = step(params, stats, state, images, labels, batches.next(), done)
            losses.append(loss)
            done += 1
        jax.block_until_ready((params, stats, state))  # JAX runs asynchronously: wait for the work
        wall, cpu = since(begin)
        return wall, cpu, float(jnp.mean(jnp.stack(losses)))
    return train


def keras_jax(rung):
    """speed.py's keras.Sequential on the JAX backend, trained with model.fit on N*100 examples
    from next_batch (shuffled), timed from on_train_begin to on_train_end, as speed.py does; the
    loss: fit's mean training loss."""
    os.environ["KERAS_BACKEND"] = "jax"  # before Keras loads
    import keras
    import speed
    model = speed.keras_model(rung)
    data = mnist().train

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = clocks()

        def on_train_end(self, logs=None):
            self.seconds = since(self.start)

    def train(n):
        images, labels = data.next_batch(n * BATCH)
        timer = Timer()
        history = model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=True, verbose=0,
                            callbacks=[timer])
        return (*timer.seconds, history.history["loss"][-1])
    return train


BUILD = {"ours": ours, "torch": torch_side, "torch.compile": lambda rung: torch_side(rung, compiled=True),
         "jax": jax_side, "keras-jax": keras_jax}


def child(side, rung, iterations):
    """One measurement, in its own process: build, warm up, time `iterations`; print one line."""
    import numpy as np
    np.random.seed(0)  # next_batch's order
    train = BUILD[side](rung)
    _, _, first = train(WARMUP)
    wall, cpu, last = train(iterations)
    print(f"PEERS ms={1000 * wall / iterations:.4f} cpu_ms={1000 * cpu / iterations:.4f} "
          f"loss={first:.6g},{last:.6g}", flush=True)


# --- the parent: children alternated in rounds, medians, the table ---

def measure(side, rung, iterations):
    """One child: {"ms", "cpu", "loss"} (per iteration; the loss after the warm-up and after the
    timed iterations), or the one-line reason why it failed."""
    command = [sys.executable, os.path.abspath(__file__), "--child", side, rung, str(iterations)]
    try:
        done = subprocess.run(command, cwd=REPO, env=child_env(), capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"timed out after {CHILD_TIMEOUT} s"
    found = RESULT.search(done.stdout)
    if done.returncode or not found:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()] or [
            f"exit status {done.returncode}, no result"]
        error = [line for line in lines if re.match(r"[\w.]*(Error|Exception)\b", line)]
        return (error or lines)[-1][:200]
    ms, cpu, first, last = map(float, found.groups())
    if not last < first:  # also catches NaN
        return f"did not learn: loss {first:.4g} after the warm-up, {last:.4g} after {iterations} iterations"
    return dict(ms=ms, cpu=cpu, loss=(first, last))


def bench_rung(rung, sides, iterations, rounds):
    """Every side `rounds` times, alternated; a row of medians and ratios (None where failed)."""
    runs, failed = {side: [] for side in sides}, {}
    for k in range(rounds):
        for side in sides[k % len(sides):] + sides[:k % len(sides)]:  # an order rotated each round
            if side in failed:
                continue
            result = measure(side, rung, iterations)
            if isinstance(result, str):
                failed[side] = result
                print(f"{rung} {side}: failed: {result}", file=sys.stderr, flush=True)
                continue
            runs[side].append(result)
            print(f"{rung} {side}: {result['ms']:.2f} ms/it (CPU {result['cpu']:.2f}), loss "
                  f"{result['loss'][0]:.3g} -> {result['loss'][1]:.3g}", file=sys.stderr, flush=True)
    good = {side: got for side, got in runs.items() if side not in failed}
    flops = flops_per_iteration(rung)
    row = dict(rung=rung, iterations=iterations, rounds=rounds, mflops=flops / 1e6, failed=failed)
    for side, got in good.items():
        row[side] = median([r["ms"] for r in got])
        row[f"{side} cpu"] = median([r["cpu"] for r in got])
        row[f"{side} loss"] = got[-1]["loss"][1]
    if "ours" not in good:
        return row
    row["gflops_s"] = flops / row["ours"] / 1e6

    def ratio(peer, key="ms"):  # the median of the rounds' ratios ours/peer
        return median([o[key] / p[key] for o, p in zip(good["ours"], good[peer])])
    peers = [side for side in good if side != "ours"]
    for peer in peers:
        row[f"ours/{peer}"] = ratio(peer)
    if peers:
        fastest = min(peers, key=lambda peer: row[peer])
        row.update(fastest=fastest, merit=row[f"ours/{fastest}"], cpu_merit=ratio(fastest, "cpu"))
    return row


def columns(sides):
    peers = [side for side in sides if side != "ours"]
    return ([("rung", "rung", "{}"), ("iterations", "N", "{}"), ("rounds", "rounds", "{}")]
            + [(side, side, "{:.2f}") for side in sides]
            + [(f"ours/{peer}", f"ours/{peer}", "{:.2f}") for peer in peers]
            + [("fastest", "fastest peer", "{}"), ("merit", "ours/fastest", "{:.2f}"),
               ("cpu_merit", "CPU ours/fastest", "{:.2f}"), ("mflops", "MFLOP/it", "{:.0f}"),
               ("gflops_s", "GFLOP/s ours", "{:.1f}"), ("of_peak", "ours / sgemm peak", "{:.0%}")])


def matmul_peak():
    """This machine's matrix-multiply peak, GFLOP/s: numpy's sgemm (OpenBLAS on every core),
    2048x2048 float32, the best of 10, in a child with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
    unset (a shared machine may set them to an older core's kernels)."""
    code = ("import time, numpy as np\n"
            "a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)\n"
            "a @ a\n"
            "times = []\n"
            "for _ in range(10):\n"
            "    start = time.perf_counter(); a @ a; times.append(time.perf_counter() - start)\n"
            "print(2 * 2048 ** 3 / min(times) / 1e9)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    try:
        return float(done.stdout.strip())
    except ValueError:
        return None


def available(sides):
    """The sides whose frameworks are installed; a line for each of the others."""
    found = []
    for side in sides:
        missing = [module for module in NEEDS[side] if importlib.util.find_spec(module) is None]
        if missing:
            print(f"{side}: not installed (pip install -r bench/requirements-peers.txt)", flush=True)
        else:
            found.append(side)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer iterations, one round, no torch.compile unless named in --peers")
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(RUNGS))
    parser.add_argument("--peers", nargs="+", choices=PEERS, help="the peers to run (default: all)")
    parser.add_argument("--iterations", type=int, help="timed iterations of every rung (default: see below)")
    parser.add_argument("--rounds", type=int, help="rounds of alternation (default: 3, --quick: 1)")
    parser.add_argument("--json", help="also write the results to this file (for run_all.py)")
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "RUNG", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        side, rung, iterations = args.child
        return child(side, rung, int(iterations))
    # timed iterations per round: about 1 s of training per side (0.6-1.4 ms an iteration on the
    # dense rungs: 300 of them, 0.2-0.4 s, put one disturbed round at 1.06 where 7 rounds of
    # 1,000 said 0.82); 4.2's 45 ms: 60 of them, 2.7 s (30 let a few seconds of the shared
    # machine's load spoil 2 of 3 rounds: ours 61.2, 43.6, 63.8 ms on 2026-12-06)
    plan = ({"dense": 300, "conv": 40, "4.2": 10} if args.quick
            else {"dense": 1000, "conv": 100, "4.2": 60})
    rounds = args.rounds or (1 if args.quick else 3)
    peers = args.peers or PEERS
    if args.quick and not args.peers:
        peers = [peer for peer in PEERS if peer != "torch.compile"]
        print("torch.compile: left out with --quick (it compiles for tens of seconds per rung); "
              "name it in --peers to run it", flush=True)
    sides = available(["ours"] + peers)
    peak = matmul_peak()
    print(f"this machine's sgemm peak: {peak:.0f} GFLOP/s" if peak else "sgemm peak: not measured",
          flush=True)
    rows = []
    for rung in args.rungs:
        key = rung if rung in plan else ("conv" if is_convolutional(rung) else "dense")
        row = bench_rung(rung, sides, args.iterations or plan[key], rounds)
        if peak and row.get("gflops_s"):
            row["of_peak"] = row["gflops_s"] / peak
        rows.append(row)
    print(f"ms/iteration (batch of {BATCH}), the median of {rounds} round(s); ours/peer < 1: ours is faster")
    print(table(rows, columns(sides)))
    for row in rows:
        for side, reason in row["failed"].items():
            print(f"{row['rung']} {side}: failed: {reason}")
    save_json(args.json, rows, quick=args.quick, sides=sides, sgemm_peak=peak)
    compared = [row for row in rows if row.get("merit") is not None]
    if compared:
        worst = max(compared, key=lambda row: row["merit"])
        print(f"worst ratio ours/fastest peer: {worst['merit']:.2f} (rung {worst['rung']})")
    else:
        print("worst ratio ours/fastest peer: - (no rung has both ours and a peer measured)")
    return rows


if __name__ == "__main__":
    main()
