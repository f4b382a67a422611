"""Each rung's model, described once for the benchmarks that rebuild it in another framework
(Keras in speed.py; PyTorch and JAX in peers.py): layers, initialisation, loss, optimizer and
learning rate schedule, as the rung script has them. No framework is imported here."""

import math

DENSE = [200, 100, 60, 30]


def model(convs=(), dense=(), activation=None, bias=0.0, dropout=0.0, optimizer="adam",
          lr=(0.003, None), bn=None, bn_decay=None):
    """convs: [(kernel, stride, channels)]; dense: hidden layer sizes; bias: the biases' (or BN
    offsets') start; dropout: the rate (1 - pkeep) after each dense hidden layer; optimizer:
    "sgd" (lr 0.005, the naive cross-entropy * 1000) or "adam"; lr: (start, decay speed):
    0.0001 + start * exp(-i / speed), or a constant start when speed is None; bn: None, "scale"
    (batch norm with offset and scale, before sigmoids) or "offset" (offset only, before ReLUs)."""
    return dict(convs=list(convs), dense=list(dense), activation=activation, bias=bias,
                dropout=dropout, optimizer=optimizer, lr=lr, bn=bn, bn_decay=bn_decay)


MODELS = {
    "1.0": model(optimizer="sgd", lr=(0.005, None)),
    "2.0": model(dense=DENSE, activation="sigmoid"),
    "2.1": model(dense=DENSE, activation="relu", bias=0.1, lr=(0.003, 2000)),
    "2.2": model(dense=DENSE, activation="relu", bias=0.1, dropout=0.25, lr=(0.003, 2000)),
    "3.0": model(convs=[(5, 1, 4), (5, 2, 8), (4, 2, 12)], dense=[200], activation="relu",
                 bias=0.1, lr=(0.003, 2000)),
    "3.1": model(convs=[(6, 1, 6), (5, 2, 12), (4, 2, 24)], dense=[200], activation="relu",
                 bias=0.1, dropout=0.25, lr=(0.003, 2000)),
    "4.0": model(dense=DENSE, activation="sigmoid", lr=(0.03, 2000), bn="scale", bn_decay=0.998),
    "4.1": model(dense=DENSE, activation="relu", bias=0.1, lr=(0.03, 2000), bn="offset",
                 bn_decay=0.999),
    "4.2": model(convs=[(6, 1, 24), (5, 2, 48), (4, 2, 64)], dense=[200], activation="relu",
                 bias=0.1, dropout=0.25, lr=(0.02, 1600), bn="offset", bn_decay=0.999),
}


def learning_rate(rung, i):
    """The rung's learning rate at iteration i."""
    start, speed = MODELS[rung]["lr"]
    return start if speed is None else 0.0001 + start * math.exp(-i / speed)


def is_convolutional(rung):
    return bool(MODELS[rung]["convs"])


def flops_per_iteration(rung, batch=100):
    """Analytic FLOPs of one training iteration (forward + backward ~ 3x forward) on a batch."""
    spec = MODELS[rung]
    size, channels, forward = 28, 1, 0
    for kernel, stride, out in spec["convs"]:
        size = math.ceil(size / stride)
        forward += 2 * kernel * kernel * channels * out * size * size
        channels = out
    width = size * size * channels
    for out in spec["dense"] + [10]:
        forward += 2 * width * out
        width = out
    return 3 * forward * batch
