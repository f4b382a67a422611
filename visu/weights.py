"""--save-weights and --load-weights: a rung's trained variables in a .npz file.

The variables are the rung's own: every tf.Variable among its globals (W1, B1, the batch-norm
rungs' scales S1 and moving averages A1...), under their names. A file remembers which script
saved it, and loads only into that one: loading it into another rung, or a damaged file, is a
one-line error naming the file and what does not match. Another rung is refused even when its
variables have the same names and shapes (rungs 2.0, 2.1 and 2.2 do): values trained for
sigmoids, or without dropout, are not that rung's lesson. Files are written whole or not at all
(files.save_atomically).
"""

import zipfile

import numpy as np

from .startup import UserError

SCRIPT_KEY = "__script__"  # the entry that holds the name of the script that saved the file


def variables_of(namespace):
    """{name: tf.Variable}, in the order the rung defined them: its globals that are variables,
    or tuples and lists of them (name.0, name.1...); a variable seen twice keeps its first name."""
    import tensorflow as tf
    found, seen = {}, set()

    def add(name, value):
        if isinstance(value, tf.Variable) and id(value) not in seen:
            seen.add(id(value))
            found[name] = value

    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        if isinstance(value, (list, tuple)):
            for k, item in enumerate(value):
                add(f"{name}.{k}", item)
        else:
            add(name, value)
    return found


def save(path, variables, script):
    """The variables' values, and the script's name, in path (.npz), atomically."""
    from . import files
    arrays = {name: variable.numpy() for name, variable in variables.items()}

    def write(temp):
        with open(temp, "wb") as f:
            np.savez(f, **{SCRIPT_KEY: np.array(script)}, **arrays)
    files.save_atomically(path, write)


def load(path, variables, script):
    """Put the values saved in path into the variables; UserError (one line) if the file is not a
    weights file of this rung."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path} is not a weights file saved with --save-weights, or it is damaged "
                        f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
    recorded = SCRIPT_KEY in arrays  # a file of --save-weights; a hand-made .npz may lack it
    saver = str(arrays.pop(SCRIPT_KEY)) if recorded else "another program"
    whose = "" if saver == script else f" (saved by {saver}, not {script})"
    mismatch = _mismatch(arrays, variables)
    if mismatch is not None:
        raise UserError(f"{path} holds the weights of another network{whose}: {mismatch}")
    if recorded and saver != script:  # the same variables (2.0, 2.1, 2.2), another rung's values
        raise UserError(f"{path} holds the weights of another rung{whose}: load them with {saver}")
    for name, variable in variables.items():
        variable.assign(arrays[name].astype(variable.dtype.as_numpy_dtype))
    return saver


def _mismatch(arrays, variables):
    """The first difference between the saved arrays and the rung's variables, in words (a
    name missing on either side, or a shape), or None if they have the same names and shapes."""
    missing = [name for name in variables if name not in arrays]
    if missing:
        return f"{missing[0]} is missing"
    extra = sorted(set(arrays) - set(variables))
    if extra:
        return f"{extra[0]} is not in this rung"
    for name, variable in variables.items():
        if tuple(arrays[name].shape) != tuple(variable.shape):
            return f"{name} is {list(arrays[name].shape)} there, {list(variable.shape)} here"
    return None
