"""MNIST and Fashion-MNIST: four IDX files as numpy arrays, with a shuffling batcher.

    import mnistdata
    mnist = mnistdata.read_data_sets()                      # MNIST, found or downloaded
    mnist = mnistdata.read_data_sets(dataset="fashion")     # Fashion-MNIST
    mnist = mnistdata.read_data_sets("path/to/dir")         # any four IDX files of 28x28 images
    batch_x, batch_y = mnist.train.next_batch(100)
    mnist.test.images, mnist.test.labels         # [10000, 28, 28, 1], [10000, 10]
    mnist.name, mnist.classes, mnist.noun        # "MNIST", ["0", ..., "9"], "digits"

The files are looked for in, in order: the `data_dir` argument (the scripts' `--data-dir`
flag), the data set's environment variable (MNIST_DATA_DIR, FASHION_MNIST_DATA_DIR), then its
folder beside this file (data/, data/fashion/). Missing files are downloaded there from public
mirrors, tried in turn, each download checked against the md5 its publisher gives.

Every file is checked when it is read, and a known set is recognised by its checksums,
whatever `dataset` says: mnistfiles.py, which finds, downloads, checks and parses the files,
says how. Any problem raises MnistDataError with a one-line message that names the file or
folder and the fix. `prefetch` reads a set in a thread while TensorFlow loads.

Only numpy is imported here; Keras is imported only when a download is needed.
"""

import argparse
import os
import sys
import threading
import time

import numpy as np

import mnistfiles
from mnistfiles import (  # noqa: F401  (what this module has always offered its users)
    COLS, COUNTS, DATASETS, DEFAULT_DATA_DIR, FILES, ROWS, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS, Known, MnistDataError)


class DataSet:
    """Images and labels of one split, served in shuffled batches.

    Attributes: images, labels, num_examples, epochs_completed (int) and
    epoch (float, examples served / num_examples, e.g. 1.67).
    """

    def __init__(self, images, labels):
        if not len(images) == len(labels) > 0:
            raise ValueError(f"need as many labels as images, at least one: got {len(images)}, "
                             f"{len(labels)}")
        self.images = images
        self.labels = labels
        self.num_examples = len(images)
        self._served = 0  # examples handed out so far, over all epochs
        self._perm = None  # order of the current epoch
        self._pos = self.num_examples  # position in it (at the end: shuffle first)

    @property
    def epochs_completed(self):
        return self._served // self.num_examples

    @property
    def epoch(self):
        return self._served / self.num_examples

    def next_batch(self, n):
        """Return (images, labels) for the next n examples (see next_indices)."""
        idx = self.next_indices(n)
        return self.images[idx], self.labels[idx]

    def next_indices(self, n):
        """The indices of the next n examples.

        Each epoch walks every example once in a fresh order from
        np.random.permutation (seed numpy's global RNG for repeatable runs).
        A batch that crosses the end of an epoch finishes it and continues
        into the next, so next_indices(k * n) gives the same examples as
        k calls of next_indices(n).
        """
        parts = []
        while n > 0:
            if self._pos == self.num_examples:  # start a new epoch
                self._perm = np.random.permutation(self.num_examples)
                self._pos = 0
            take = min(n, self.num_examples - self._pos)
            parts.append(self._perm[self._pos : self._pos + take])
            self._pos += take
            self._served += take
            n -= take
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)


class Datasets:
    """The training and test splits of a data set, and what it is: its name, the names of its
    10 classes, the word for its images ("digits"), and whether its files are the official
    ones. Iterating gives the two splits."""

    def __init__(self, train, test, name="MNIST", classes=None, noun="digits", official=True):
        self.train, self.test = train, test
        self.name, self.noun, self.official = name, noun, official
        self.classes = classes or [str(d) for d in range(10)]

    def __iter__(self):
        return iter((self.train, self.test))


def resolve_data_dir(data_dir=None, dataset="mnist"):
    """The folder to use: data_dir if given, else the data set's environment variable
    (MNIST_DATA_DIR, FASHION_MNIST_DATA_DIR), else its folder beside this file."""
    known = _known(dataset)
    if data_dir is None:
        data_dir = os.environ.get(known.env) or known.folder
    return os.path.abspath(os.path.expanduser(data_dir))


def read_data_sets(data_dir=None, dataset="mnist", one_hot=True, reshape=False):
    """Load a data set as Datasets(train, test), downloading missing files first.

    data_dir: see resolve_data_dir; dataset: "mnist" or "fashion", the set to download when
    files are missing (the files found decide what is loaded: see the module's docstring).
    Images are float32 in [0, 1], shaped [N, 28, 28, 1], or [N, 784] if reshape. Labels are
    one-hot float32 [N, 10] if one_hot, else int64 [N]. Raises MnistDataError (a one-line
    message) if the files are missing and cannot be downloaded, or are damaged.
    """
    known = _known(dataset)
    data_dir = resolve_data_dir(data_dir, dataset)
    loaded = _take_prefetched((data_dir, dataset, one_hot, reshape))
    if loaded is not None:
        return loaded
    own_folder = data_dir == os.path.abspath(known.folder)  # where we download: official files only
    mnistfiles.fetch_missing(data_dir, known)
    arrays, identity, official, notes = mnistfiles.read_files(data_dir, known, own_folder)
    for message in notes:
        note(message)
    splits = []
    for images, labels in arrays:
        images = images.reshape(-1, ROWS * COLS) if reshape else images.reshape(-1, ROWS, COLS, 1)
        x = images.astype(np.float32)
        x /= 255.0
        if one_hot:
            y = np.zeros((len(labels), 10), dtype=np.float32)
            y[np.arange(len(labels)), labels] = 1.0
        else:
            y = labels.astype(np.int64)
        splits.append(DataSet(x, y))
    return Datasets(*splits, name=identity.name if official else f"{data_dir} (IDX files)",
                    classes=identity.classes, noun=identity.noun, official=official)


def _known(dataset):
    if dataset not in DATASETS:
        raise MnistDataError(f"unknown data set {dataset!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


def note(message):
    """A line on stderr about the data (not an error); kept for later while prefetching."""
    held = getattr(_prefetching, "notes", None)
    if held is not None:
        held.append(message)
    else:
        print(message, file=sys.stderr, flush=True)


# --- reading the files while TensorFlow loads -----------------------------------------------------
_prefetched = {}  # (folder, dataset, one_hot, reshape) -> (thread, its result)
_prefetching = threading.local()  # .notes: the prefetching thread's notes, held back


def prefetch(data_dir=None, dataset="mnist", one_hot=True, reshape=False):
    """Start reading a data set in a thread; the next read_data_sets with the same arguments
    takes what it read. The rungs load TensorFlow (seconds), then the data (~0.3 s): the two
    overlap, gzip and the checksums running outside Python's lock. Only when the four files
    are there: a download, and any problem with the files, are left to read_data_sets, which
    reports them where the rung asks for the data. Returns whether it started."""
    try:
        folder = resolve_data_dir(data_dir, _known(dataset).key)
    except MnistDataError:
        return False
    if not all(os.path.isfile(os.path.join(folder, name)) for name in FILES):
        return False
    result = {}

    def read():
        _prefetching.notes = []
        try:
            result["data"] = read_data_sets(folder, dataset, one_hot, reshape)
        except Exception:  # noqa: BLE001  (read_data_sets reads again, and says what is wrong)
            pass
        result["notes"] = _prefetching.notes

    key = (folder, dataset, one_hot, reshape)
    _prefetched[key] = (threading.Thread(target=read, name="prefetch", daemon=True), result)
    _prefetched[key][0].start()
    return True


def _take_prefetched(key):
    """The data set prefetch() read for these arguments (its notes said now), or None."""
    if getattr(_prefetching, "notes", None) is not None:
        return None  # this is the prefetching thread
    thread, result = _prefetched.pop(key, (None, None))
    if thread is None:
        return None
    thread.join()
    if "data" not in result:
        return None  # read again: that reading says what went wrong
    for message in result["notes"]:
        note(message)
    return result["data"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Load a data set and print what was loaded.")
    parser.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    parser.add_argument("--data-dir", help="folder of the four .gz files (default: "
                        "$MNIST_DATA_DIR or $FASHION_MNIST_DATA_DIR, else data/ or data/fashion/)")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        mnist = read_data_sets(args.data_dir, args.dataset)
    except MnistDataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    seconds = time.perf_counter() - start
    for name, ds in zip(("train", "test"), mnist):
        print(f"{name}: images {ds.images.shape} {ds.images.dtype}, "
              f"labels {ds.labels.shape} {ds.labels.dtype}")
    print(f"loaded {sum(ds.num_examples for ds in mnist)} {mnist.noun} of {mnist.name} from "
          f"{resolve_data_dir(args.data_dir, args.dataset)} in {seconds:.2f} s")
