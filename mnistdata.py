"""MNIST loader: the four IDX files as numpy arrays, with a shuffling batcher.

    import mnistdata
    mnist = mnistdata.read_data_sets()           # or read_data_sets("path/to/dir")
    batch_x, batch_y = mnist.train.next_batch(100)
    mnist.test.images, mnist.test.labels         # [10000, 28, 28, 1], [10000, 10]

The files are looked for in, in order: the `data_dir` argument (the scripts'
`--data-dir` flag), the MNIST_DATA_DIR environment variable, then `data/` beside
this file. Missing files are downloaded from a public mirror.

Every file is checked when it is read (gzip, IDX header, sizes, label range) and
full-size files are also checked against the sha256 of the published MNIST
contents (decompressed, so any gzip recompression of them passes). Smaller
files with the right format, such as the synthetic ones the tests write, are
not MNIST and have no published hash to check against: they get the format
checks only. Any problem raises MnistDataError with a one-line message that
names the file or directory and the fix.

Only numpy is imported here; Keras is imported only when a download is needed.
"""

import argparse
import collections
import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import time
import zlib

import numpy as np

DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

MIRRORS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]

# md5 of each .gz as served by the mirrors (checked on download).
GZ_MD5 = {
    TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}

# (number of examples, sha256 of the decompressed contents) of the real files.
# The hash is checked whenever a file's header says it holds that many examples.
MNIST_SHA256 = {
    TRAIN_IMAGES: (60000, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    TRAIN_LABELS: (60000, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    TEST_IMAGES: (10000, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    TEST_LABELS: (10000, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
ROWS = COLS = 28


class MnistDataError(Exception):
    """The MNIST files are missing, unreadable or corrupt; the message says how to fix it."""


class DataSet:
    """Images and labels of one split, served in shuffled batches.

    Attributes: images, labels, num_examples, epochs_completed (int) and
    epoch (float, examples served / num_examples, e.g. 1.67).
    """

    def __init__(self, images, labels):
        if not len(images) == len(labels) > 0:
            raise ValueError(f"need as many labels as images, at least one: got {len(images)}, {len(labels)}")
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
        """Return (images, labels) for the next n examples.

        Each epoch walks every example once in a fresh order from
        np.random.permutation (seed numpy's global RNG for repeatable runs).
        A batch that crosses the end of an epoch finishes it and continues
        into the next, so next_batch(k * n) returns the same examples as
        k calls of next_batch(n).
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
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        return self.images[idx], self.labels[idx]


Datasets = collections.namedtuple("Datasets", ["train", "test"])


def resolve_data_dir(data_dir=None):
    """The directory to use: data_dir if given, else $MNIST_DATA_DIR, else data/ beside this file."""
    if data_dir is None:
        data_dir = os.environ.get("MNIST_DATA_DIR") or DEFAULT_DATA_DIR
    return os.path.abspath(os.path.expanduser(data_dir))


def read_data_sets(data_dir=None, one_hot=True, reshape=False):
    """Load MNIST as Datasets(train, test), downloading missing files first.

    data_dir: see resolve_data_dir. Images are float32 in [0, 1], shaped
    [N, 28, 28, 1], or [N, 784] if reshape. Labels are one-hot float32 [N, 10]
    if one_hot, else int64 [N]. Raises MnistDataError (one-line message) if the
    files are missing and cannot be downloaded, or are corrupt.
    """
    data_dir = resolve_data_dir(data_dir)
    _fetch_missing(data_dir)
    splits = []
    for images_name, labels_name in [(TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)]:
        images_path = os.path.join(data_dir, images_name)
        labels_path = os.path.join(data_dir, labels_name)
        images = _read_images(images_path)
        labels = _read_labels(labels_path)
        if len(images) != len(labels):
            raise MnistDataError(
                f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
                "delete both so they are downloaded again"
            )
        images = images.reshape(-1, ROWS * COLS) if reshape else images.reshape(-1, ROWS, COLS, 1)
        x = images.astype(np.float32)
        x /= 255.0
        if one_hot:
            y = np.zeros((len(labels), 10), dtype=np.float32)
            y[np.arange(len(labels)), labels] = 1.0
        else:
            y = labels.astype(np.int64)
        splits.append(DataSet(x, y))
    return Datasets(*splits)


def _fetch_missing(data_dir):
    """Download whichever of the four files are not in data_dir."""
    missing = [f for f in FILES if not os.path.exists(os.path.join(data_dir, f))]
    if not missing:
        return
    created = _first_missing_folder(data_dir)  # made here, removed again if nothing lands in it
    try:
        os.makedirs(data_dir, exist_ok=True)
        if not os.access(data_dir, os.W_OK):
            raise PermissionError("not writable")
    except OSError as e:
        raise MnistDataError(
            f"cannot write to data directory {data_dir} to download {', '.join(missing)} "
            f"({_one_line(e)}); pass --data-dir or set MNIST_DATA_DIR to a writable directory "
            "or to one that already holds the MNIST files"
        ) from None
    for i, fname in enumerate(missing):
        try:
            download(fname, data_dir)
        except BaseException as e:  # offline, or no mirror served a good copy: stop trying
            if created and i == 0:
                shutil.rmtree(created, ignore_errors=True)
            if not isinstance(e, Exception):
                raise
            raise MnistDataError(
                f"MNIST files missing and could not be downloaded ({_one_line(e)}): {', '.join(missing[i:])}; "
                f"put them in {data_dir}, or set MNIST_DATA_DIR or pass --data-dir to a directory that has them"
            ) from None


def _first_missing_folder(path):
    """The outermost folder of path that does not exist yet (None if path exists)."""
    missing = None
    while not os.path.exists(path):
        missing, parent = path, os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def download(fname, data_dir):
    """Download one MNIST file into data_dir, trying each mirror in turn.

    keras.utils.get_file checks the md5 of the .gz and shows progress. It writes
    straight to its target, so it downloads into a temporary directory beside
    the final path and the file is moved into place only once complete.
    """
    from keras.utils import get_file

    errors = []
    for mirror in MIRRORS:
        tmp = tempfile.mkdtemp(prefix=".download-", dir=data_dir)
        try:
            path = get_file(fname, mirror + fname, cache_dir=tmp, cache_subdir=tmp, file_hash=GZ_MD5[fname])
            os.replace(path, os.path.join(data_dir, fname))
            return
        except Exception as e:
            errors.append(_one_line(e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    raise OSError(f"{len(MIRRORS)} mirrors failed, first: {errors[0]}")


def _one_line(e):
    return " ".join(str(e).split()) or type(e).__name__


def _corrupt(path, problem):
    return MnistDataError(f"{path}: {problem}; delete it so it is downloaded again")


def _read_idx(path, magic, header_ints):
    """Decompress an IDX .gz, check magic and sha256, return (header ints, payload bytes)."""
    try:
        with open(path, "rb") as f:
            data = gzip.decompress(f.read())
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(path, f"not a readable gzip file ({_one_line(e)})") from None
    header_size = 4 * header_ints
    if len(data) < header_size:
        raise _corrupt(path, f"truncated: {len(data)} bytes, shorter than the IDX header")
    header = np.frombuffer(data, dtype=">i4", count=header_ints).tolist()
    if header[0] != magic:
        raise _corrupt(path, f"bad magic number {header[0]}, expected {magic} (not an MNIST IDX file)")
    count, sha = MNIST_SHA256.get(os.path.basename(path), (None, None))
    if header[1] == count and hashlib.sha256(data).hexdigest() != sha:
        raise _corrupt(path, "contents do not match the MNIST sha256")
    return header, memoryview(data)[header_size:]


def _read_images(path):
    """uint8 images [N, 28, 28] from an IDX3 .gz file."""
    (_, n, rows, cols), pixels = _read_idx(path, IMAGE_MAGIC, 4)
    if n <= 0:
        raise _corrupt(path, f"header says {n} images")
    if (rows, cols) != (ROWS, COLS):
        raise _corrupt(path, f"images are {rows}x{cols}, expected {ROWS}x{COLS}")
    if len(pixels) != n * rows * cols:
        raise _corrupt(path, f"truncated or wrong size: header says {n} images, found {len(pixels)} pixel bytes")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(n, rows, cols)


def _read_labels(path):
    """uint8 labels [N] from an IDX1 .gz file."""
    (_, n), data = _read_idx(path, LABEL_MAGIC, 2)
    if len(data) != n:
        raise _corrupt(path, f"truncated or wrong size: header says {n} labels, found {len(data)} bytes")
    labels = np.frombuffer(data, dtype=np.uint8)
    if labels.size and labels.max() > 9:
        raise _corrupt(path, f"label {labels.max()} out of range 0-9")
    return labels


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Load MNIST and print what was loaded.")
    parser.add_argument("--data-dir", help="directory with the MNIST .gz files (default: $MNIST_DATA_DIR, else data/)")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        mnist = read_data_sets(args.data_dir)
    except MnistDataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    seconds = time.perf_counter() - start
    for name, ds in mnist._asdict().items():
        print(f"{name}: images {ds.images.shape} {ds.images.dtype}, labels {ds.labels.shape} {ds.labels.dtype}")
    print(f"loaded {sum(ds.num_examples for ds in mnist)} digits from {resolve_data_dir(args.data_dir)} in {seconds:.2f} s")
