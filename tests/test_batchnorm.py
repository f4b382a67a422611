"""The batch-normalisation rungs' batchnorm(): against numpy, in training and in tests, and its
moving averages, moved once per training step and never by an evaluation."""

import numpy as np
import pytest

from conftest import real_data

tf = pytest.importorskip("tensorflow")
from visu import ladder  # noqa: E402

pytestmark = real_data


@pytest.fixture(scope="module", params=["4.0", "4.1", "4.2"])
def rung(request):
    return request.param, ladder.load(request.param)


def layer_one(g, X):
    """The first layer's weighted sums, as the rung computes them (a convolution in 4.2)."""
    if g["W1"].shape.rank == 4:
        return tf.nn.conv2d(X, g["W1"], strides=1, padding="SAME").numpy()
    return tf.matmul(tf.reshape(X, [-1, 784]), g["W1"]).numpy()


def numpy_batchnorm(XW, mean, variance, offset, scale):
    return (XW - mean) / np.sqrt(variance + 1e-5) * scale + offset


def call_batchnorm(g, XW, training, i=0.0):
    """The rung's batchnorm on its first layer's variables (with its scale in 4.0)."""
    if "S1" in g:
        return g["batchnorm"](tf.constant(XW), g["B1"], g["S1"], g["A1"], training, i).numpy()
    return g["batchnorm"](tf.constant(XW), g["B1"], g["A1"], training, i).numpy()


def decay_at(name, i):
    """The moving averages' decay at iteration i: 0.998 (4.0) or 0.999, less at first."""
    return min(0.998 if name == "4.0" else 0.999, (1 + i) / (10 + i))


def scale_of(g):
    return g["S1"].numpy() if "S1" in g else 1.0


def test_training_mode_normalises_with_the_batch_statistics(rung):
    name, g = rung
    rng = np.random.default_rng(0)
    shape = (100, 28, 28, g["W1"].shape[-1]) if name == "4.2" else (100, g["W1"].shape[-1])
    XW = rng.normal(3.0, 5.0, shape).astype(np.float32)
    axes = (0, 1, 2) if name == "4.2" else (0,)
    saved = [a.numpy() for a in g["A1"]]
    out = call_batchnorm(g, XW, training=True, i=1000.0)
    expected = numpy_batchnorm(XW, XW.mean(axis=axes), XW.var(axis=axes), g["B1"].numpy(), scale_of(g))
    assert np.allclose(out, expected, atol=1e-4)
    # each neuron (channel) comes out centred on its offset, with the spread of its scale
    assert np.allclose((out - g["B1"].numpy()).mean(axis=axes), 0, atol=1e-4)
    assert np.allclose(out.std(axis=axes), np.broadcast_to(scale_of(g), out.shape[-1:]), atol=1e-3)
    # and the moving averages moved towards this batch's statistics, by 1 - decay
    decay = decay_at(name, 1000.0)
    assert np.allclose(g["A1"][0].numpy(), decay * saved[0] + (1 - decay) * XW.mean(axis=axes), atol=1e-5)
    assert np.allclose(g["A1"][1].numpy(), decay * saved[1] + (1 - decay) * XW.var(axis=axes), rtol=1e-5)


def test_the_first_averages_forget_their_start_faster(rung):
    name, g = rung
    XW = np.full((100, 28, 28, g["W1"].shape[-1]) if name == "4.2" else (100, g["W1"].shape[-1]), 7.0,
                 np.float32)
    g["A1"][0].assign(tf.zeros_like(g["A1"][0]))
    call_batchnorm(g, XW, training=True, i=0.0)  # decay min(0.99x, 1/10)
    assert np.allclose(g["A1"][0].numpy(), 0.9 * 7.0, atol=1e-5)


def test_test_mode_uses_the_moving_averages(rung):
    name, g = rung
    rng = np.random.default_rng(1)
    n = g["W1"].shape[-1]
    mean, variance = rng.normal(0, 1, n).astype(np.float32), rng.uniform(0.5, 2, n).astype(np.float32)
    g["A1"][0].assign(mean)
    g["A1"][1].assign(variance)
    XW = rng.normal(0, 1, (5, 28, 28, n) if name == "4.2" else (5, n)).astype(np.float32)
    out = call_batchnorm(g, XW, training=False)
    assert np.allclose(out, numpy_batchnorm(XW, mean, variance, g["B1"].numpy(), scale_of(g)), atol=1e-4)
    assert np.array_equal(g["A1"][0].numpy(), mean), "a test does not move the averages"


def test_averages_move_once_per_training_step_and_never_in_evaluation(rung):
    name, g = rung
    mnist = g["mnist"]
    images, labels = mnist.train.images[:100], mnist.train.labels[:100]
    before = [a.numpy() for a in g["A1"]]
    g["evaluate"](images, labels)
    g["evaluate"](mnist.test.images[:500], mnist.test.labels[:500])
    assert all(np.array_equal(a.numpy(), b) for a, b in zip(g["A1"], before)), "evaluate moved them"
    XW = layer_one(g, images)  # the weighted sums the training step will normalise
    axes = (0, 1, 2) if name == "4.2" else (0,)
    i = 5000.0
    g["training_step"](images, labels, tf.constant(i))
    decay = decay_at(name, i)
    assert np.allclose(g["A1"][0].numpy(), decay * before[0] + (1 - decay) * XW.mean(axis=axes), atol=1e-5)
    assert np.allclose(g["A1"][1].numpy(), decay * before[1] + (1 - decay) * XW.var(axis=axes), rtol=1e-4)


def test_the_moving_averages_are_not_trained(rung):
    name, g = rung
    trained = {id(v) for v in g["allweights"] + g["allbiases"]}
    for k in range(1, 5):
        for average in g[f"A{k}"]:
            assert not average.trainable and id(average) not in trained
