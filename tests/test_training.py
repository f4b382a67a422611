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


def test_the_training_set_goes_to_tensorflow_when_training_starts():
    trainer = training.Trainer(make_rung().training_step, tiny_mnist().train)
    assert trainer.tensors is None, "nothing copied before the first training line"
    trainer.train(3)
    images, labels = trainer.tensors
    assert images.shape == (300, 28, 28, 1) and labels.shape == (300, 10)
