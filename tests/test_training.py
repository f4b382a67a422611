"""The Trainer's speed levers keep training what it was: XLA compiles one program for every
chunk size, the first training line does not wait for the training set's copy."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
tf = pytest.importorskip("tensorflow")

from test_runner import make_rung, tiny_mnist  # noqa: E402
from visu import training  # noqa: E402


def test_xla_compiles_one_program_for_every_number_of_steps():
    # XLA compiles a program per set of compile-time constants: were the number of steps one
    # (a tf.range over it is), every new chunk size would cost a compilation (~1.5 s)
    trainer = training.Trainer(make_rung().training_step, tiny_mnist().train, xla=True)
    trainer.train(2)
    batches = tf.zeros((training.CHUNK_CAPACITY, training.BATCH_SIZE), tf.int32)
    compiled = [trainer.training_steps.experimental_get_compiler_ir(
        batches, tf.constant(steps), tf.constant(5))(stage="hlo") for steps in (3, 17)]
    assert compiled[0] == compiled[1]


def test_a_small_model_trains_two_steps_per_pass_to_the_same_weights():
    # the tests' softmax has rung 1.0's 7,850 weights: two steps in each pass of the XLA loop,
    # so that XLA gathers the second one's batch while the first trains (see Trainer); chunks
    # of odd sizes end with a step alone; the weights are those of one step per pass, exactly
    import numpy as np
    trained = []
    for steps_per_pass in (None, 1):
        np.random.seed(3)  # next_batch's order
        rung = make_rung()
        trainer = training.Trainer(rung.training_step, tiny_mnist().train, xla=True,
                                   steps_per_pass=steps_per_pass)
        for steps in (1, 9, 10, 7, 33):
            trainer.train(steps)
        assert trainer.i == 60 == int(rung.steps.numpy())
        trained.append((trainer.steps_per_pass, rung.W.numpy(), rung.b.numpy()))
    (two, W2, b2), (one, W1, b1) = trained
    assert (two, one) == (2, 1)
    assert np.array_equal(W2, W1) and np.array_equal(b2, b1)
    assert np.abs(W1).max() > 0.01  # it trained


def test_the_training_set_goes_to_tensorflow_when_training_starts():
    trainer = training.Trainer(make_rung().training_step, tiny_mnist().train)
    assert trainer.tensors is None, "nothing copied before the first training line"
    trainer.train(3)
    images, labels = trainer.tensors
    assert images.shape == (300, 28, 28, 1) and labels.shape == (300, 10)
