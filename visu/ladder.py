"""The rungs of the ladder, in order: version -> script. The tests and the benchmarks read the
list from here."""

RUNGS = {
    "1.0": "mnist_1.0_softmax.py",
    "2.0": "mnist_2.0_five_layers_sigmoid.py",
    "2.1": "mnist_2.1_five_layers_relu_lrdecay.py",
    "2.2": "mnist_2.2_five_layers_relu_lrdecay_dropout.py",
    "3.0": "mnist_3.0_convolutional.py",
    "3.1": "mnist_3.1_convolutional_bigger_dropout.py",
    "4.0": "mnist_4.0_batchnorm_five_layers_sigmoid.py",
    "4.1": "mnist_4.1_batchnorm_five_layers_relu.py",
    "4.2": "mnist_4.2_batchnorm_convolutional.py",
}

# what each rung is diffed against to learn its lesson: the previous one, unless named here
DERIVED_FROM = {"4.0": "2.0", "4.1": "2.1", "4.2": "3.1"}


def previous(rung):
    """The rung this one adds its lesson to (None for the first)."""
    if rung in DERIVED_FROM:
        return DERIVED_FROM[rung]
    versions = list(RUNGS)
    index = versions.index(rung)
    return versions[index - 1] if index else None


def load(rung, *flags):
    """Run a rung's script without training it (its animate() does nothing) and return its
    globals: its variables, model, evaluate, training_step and data, to measure or test them.
    flags: the command line (text mode, one iteration, unless given)."""
    import contextlib
    import io
    import os
    import runpy
    import sys

    from .runner import MnistDataVis
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), RUNGS[rung])
    saved = sys.argv, sys.excepthook, MnistDataVis.animate
    sys.argv = [path, *(flags or ("--text", "--iterations", "1"))]
    MnistDataVis.animate = lambda *args, **kwargs: None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.excepthook, MnistDataVis.animate = saved
