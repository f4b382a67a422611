"""The rungs of the ladder, in order: version -> script. The tests and the benchmarks read the
list from here."""

RUNGS = {
    "1.0": "mnist_1.0_softmax.py",
    "2.0": "mnist_2.0_five_layers_sigmoid.py",
    "2.1": "mnist_2.1_five_layers_relu_lrdecay.py",
    "2.2": "mnist_2.2_five_layers_relu_lrdecay_dropout.py",
    "3.0": "mnist_3.0_convolutional.py",
    "3.1": "mnist_3.1_convolutional_bigger_dropout.py",
}

# what each rung is diffed against to learn its lesson: the previous one, unless named here
DERIVED_FROM = {}


def previous(rung):
    """The rung this one adds its lesson to (None for the first)."""
    if rung in DERIVED_FROM:
        return DERIVED_FROM[rung]
    versions = list(RUNGS)
    index = versions.index(rung)
    return versions[index - 1] if index else None
