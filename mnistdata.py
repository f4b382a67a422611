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

Every file is checked when it is read (gzip, IDX header, sizes, label range; images and labels
agree). A known data set is recognised by its files: the md5 of the .gz as published, or the
sha256 of the decompressed contents (so that a recompressed copy, such as Debian's, passes),
whatever --dataset says. The folder the loader downloads a set into (data/, data/fashion/)
must hold its official files. In a folder the user gives (`data_dir`, the environment
variables), four IDX files of the right structure that are no known set are used as they are,
with one line saying so. Any problem raises MnistDataError with a one-line message that names
the file or folder and the fix. A damaged file is to be deleted, so that it is downloaded
again, only where that gives a good set (see _advice): in a set's download folder, or beside
official files of a set; beside the user's own files, a downloaded official file would not
match them, so the advice is to replace it.

Only numpy is imported here; Keras is imported only when a download is needed.
"""

import argparse
import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA_DIR = os.path.join(HERE, "data")

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]
COUNTS = {TRAIN_IMAGES: 60000, TRAIN_LABELS: 60000, TEST_IMAGES: 10000, TEST_LABELS: 10000}


class Known:
    """A published data set in the IDX format: where it comes from, how to recognise its files."""

    def __init__(self, key, name, noun, classes, env, folder, mirrors, gz_md5, sha256):
        self.key, self.name, self.noun, self.classes = key, name, noun, classes
        self.env, self.folder, self.mirrors = env, folder, mirrors
        self.gz_md5 = gz_md5  # file -> md5 of the .gz as published (checked on download)
        self.sha256 = sha256  # file -> sha256 of the decompressed contents


DATASETS = {
    "mnist": Known(
        "mnist", "MNIST", "digits", [str(d) for d in range(10)], "MNIST_DATA_DIR", DEFAULT_DATA_DIR,
        ["https://storage.googleapis.com/cvdf-datasets/mnist/",
         "https://ossci-datasets.s3.amazonaws.com/mnist/",
         "http://yann.lecun.com/exdb/mnist/"],
        {TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873", TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
         TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3", TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c"},
        {TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
         TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
         TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
         TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}),
    "fashion": Known(
        "fashion", "Fashion-MNIST", "images",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"],
        "FASHION_MNIST_DATA_DIR", os.path.join(DEFAULT_DATA_DIR, "fashion"),
        ["https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"],
        {TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
         TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79", TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310"},
        # of the decompressed files, as in Debian's dataset-fashion-mnist (whose .gz differ)
        {TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
         TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
         TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
         TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
}
# MNIST's, under the names earlier versions of this module gave them
MIRRORS, GZ_MD5 = DATASETS["mnist"].mirrors, DATASETS["mnist"].gz_md5
MNIST_SHA256 = {name: (COUNTS[name], sha) for name, sha in DATASETS["mnist"].sha256.items()}

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
    _fetch_missing(data_dir, known)
    try:
        raw = {name: _read_raw(os.path.join(data_dir, name)) for name in FILES}
        arrays = []  # the structure of every file first: its problems are the clearest to report
        for images_name, labels_name in [(TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)]:
            images_path = os.path.join(data_dir, images_name)
            labels_path = os.path.join(data_dir, labels_name)
            images = _read_images(images_path, raw[images_name])
            labels = _read_labels(labels_path, raw[labels_name])
            if len(images) != len(labels):
                raise _Damaged([images_name, labels_name],
                               f"{images_path} has {len(images)} images but {labels_path} has "
                               f"{len(labels)} labels")
            arrays.append((images, labels))
        identity, official = _identify(raw, data_dir, known, own_folder)
    except _Damaged as damaged:
        advice = _advice(data_dir, damaged.names, known, own_folder)
        raise MnistDataError(f"{damaged.problem}; {advice}") from None
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


def _identify(raw, data_dir, known, own_folder):
    """(the known data set the files are, whether they are its official files). The files of
    another known set are that set, with a line saying so. In a data set's own folder, its
    files must be official; elsewhere, other files are used as they are, with a line saying so."""
    matches = {name: {key for key, other in DATASETS.items() if _is_official(contents, name, other)}
               for name, contents in raw.items()}
    everywhere = set.intersection(*matches.values())
    if known.key in everywhere:
        return known, True
    for key in everywhere:
        note(f"{data_dir} holds {DATASETS[key].name}, not {known.name}: training on "
             f"{DATASETS[key].name} (--dataset {key})")
        return DATASETS[key], True
    if own_folder:
        bad = next(name for name in FILES if known.key not in matches[name])
        raise _corrupt(os.path.join(data_dir, bad), f"contents do not match {known.name}'s sha256")
    note(f"the files in {data_dir} are not the official {known.name} files: used as they are")
    return known, False


def _is_official(raw, name, known):
    """Whether a file's contents are the known set's: the md5 of its .gz as published, or the
    sha256 of its decompressed contents (a file of another size cannot be)."""
    header = np.frombuffer(raw.data[:8], dtype=">i4") if len(raw.data) >= 8 else [0, 0]
    if header[1] != COUNTS[name]:
        return False
    return raw.md5 == known.gz_md5[name] or raw.sha256 == known.sha256[name]


class _Raw:
    """A .gz file's decompressed bytes, the md5 of the .gz, and (when asked) their sha256."""

    def __init__(self, data, md5):
        self.data, self.md5, self._sha256 = data, md5, None

    @property
    def sha256(self):
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.data).hexdigest()
        return self._sha256


def _read_raw(path):
    try:
        with open(path, "rb") as f:
            compressed = f.read()
        return _Raw(gzip.decompress(compressed), hashlib.md5(compressed).hexdigest())
    except (OSError, EOFError, zlib.error) as e:
        raise _corrupt(path, f"not a readable gzip file ({_one_line(e)})") from None


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


def _fetch_missing(data_dir, known):
    """Download whichever of the four files are not in data_dir, from the known set's mirrors."""
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
            f"({_one_line(e)}); pass --data-dir or set {known.env} to a writable directory "
            f"or to one that already holds the {known.name} files"
        ) from None
    for i, fname in enumerate(missing):
        try:
            download(fname, data_dir, known)
        except BaseException as e:  # offline, or no mirror served a good copy: stop trying
            if created and i == 0:
                shutil.rmtree(created, ignore_errors=True)
            if not isinstance(e, Exception):
                raise
            raise MnistDataError(
                f"{known.name} files missing and could not be downloaded ({_one_line(e)}): "
                f"{', '.join(missing[i:])}; put them in {data_dir}, or set {known.env} or pass "
                "--data-dir to a directory that has them"
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


def download(fname, data_dir, known=DATASETS["mnist"]):
    """Download one file of a known data set into data_dir, trying each mirror in turn.

    keras.utils.get_file checks the md5 of the .gz and shows progress. It writes
    straight to its target, so it downloads into a temporary directory beside
    the final path and the file is moved into place only once complete.
    """
    from keras.utils import get_file

    errors = []
    for mirror in known.mirrors:
        tmp = tempfile.mkdtemp(prefix=".download-", dir=data_dir)
        try:
            path = get_file(fname, mirror + fname, cache_dir=tmp, cache_subdir=tmp,
                            file_hash=known.gz_md5[fname])
            os.replace(path, os.path.join(data_dir, fname))
            return
        except Exception as e:
            errors.append(_one_line(e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    raise OSError(f"{len(known.mirrors)} mirrors failed, first: {errors[0]}")


def _one_line(e):
    return " ".join(str(e).split()) or type(e).__name__


class _Damaged(Exception):
    """Files of a folder that are not good IDX files, or not the ones they must be: their names
    (train-images-idx3-ubyte.gz...) and the problem, saying which path. read_data_sets adds what
    to do about them (_advice), which depends on the other files of the folder."""

    def __init__(self, names, problem):
        super().__init__(problem)
        self.names, self.problem = list(names), problem


def _corrupt(path, problem):
    return _Damaged([os.path.basename(path)], f"{path}: {problem}")


# Folders whose files come from the system's packages (Debian's dataset-fashion-mnist is in
# /usr/share/datasets): not to be deleted there, even by root, whom os.access lets write there
SYSTEM_FOLDERS = ["/usr"]


def _advice(data_dir, damaged, known, own_folder):
    """What to do about the damaged files (names) of data_dir, in a few words.

    Deleting them helps only where the loader then downloads files that go with the others:
    the download has to be possible (a folder we may write in, not the system's), and then
    either data_dir is the set's download folder (where every file must be official anyway),
    or the other files are all official files of one set (that set is downloaded: --dataset
    says which) or damaged too (deleted in turn, every file comes again). Beside the user's own
    IDX files, a downloaded official file would not match them: they are to be replaced.
    """
    it, they_are = ("both", "they are") if len(damaged) > 1 else ("it", "it is")
    good_copy = "good copies" if len(damaged) > 1 else "a good copy"
    delete = f"delete {it} so {they_are} downloaded again"
    read_only = f"replace {it} with {good_copy} (read-only folder)"
    if own_folder:  # data/ or data/fashion/: the loader's own, wherever the scripts are
        return delete if os.access(data_dir, os.W_OK) else read_only
    if any(_is_inside(data_dir, folder) for folder in SYSTEM_FOLDERS):
        return (f"replace {it} with {good_copy} (a system folder: reinstall the package "
                "the files come from)")
    if not os.access(data_dir, os.W_OK):
        return read_only
    others = [_official_sets(os.path.join(data_dir, name), name)
              for name in FILES if name not in damaged]
    good = [sets for sets in others if sets is not None]  # the others that are not damaged
    common = set.intersection(*good) if good else {known.key}
    if known.key in common:
        return delete
    if common:
        key = sorted(common)[0]  # the others are this set's: download its file(s)
        return (f"delete {it}, then run with --dataset {key} --data-dir {data_dir} so {they_are} "
                "downloaded again")
    return (f"replace {it} with {good_copy}: deleting {it} would download the official "
            f"{known.name} {'files' if len(damaged) > 1 else 'file'}, which would not go with "
            "the others")


def _official_sets(path, name):
    """The keys of the known sets whose official file this is (empty for a good IDX file of no
    known set), or None if the file is damaged."""
    try:
        raw = _read_raw(path)
        read = _read_images if name in (TRAIN_IMAGES, TEST_IMAGES) else _read_labels
        read(path, raw)
    except _Damaged:
        return None
    return {key for key, known in DATASETS.items() if _is_official(raw, name, known)}


def _is_inside(path, folder):
    """Whether path is folder or inside it (links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_idx(path, raw, magic, header_ints):
    """The IDX header ints and payload of decompressed file contents, the magic checked."""
    data = raw.data
    header_size = 4 * header_ints
    if len(data) < header_size:
        raise _corrupt(path, f"truncated: {len(data)} bytes, shorter than the IDX header")
    header = np.frombuffer(data, dtype=">i4", count=header_ints).tolist()
    if header[0] != magic:
        raise _corrupt(path, f"bad magic number {header[0]}, expected {magic} (not an IDX file of "
                             f"{'images' if magic == IMAGE_MAGIC else 'labels'})")
    return header, memoryview(data)[header_size:]


def _read_images(path, raw):
    """uint8 images [N, 28, 28] from an IDX3 file."""
    (_, n, rows, cols), pixels = _read_idx(path, raw, IMAGE_MAGIC, 4)
    if n <= 0:
        raise _corrupt(path, f"header says {n} images")
    if (rows, cols) != (ROWS, COLS):
        raise _corrupt(path, f"images are {rows}x{cols}, expected {ROWS}x{COLS}")
    if len(pixels) != n * rows * cols:
        raise _corrupt(path, f"truncated or wrong size: header says {n} images, found {len(pixels)} pixel bytes")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(n, rows, cols)


def _read_labels(path, raw):
    """uint8 labels [N] from an IDX1 file."""
    (_, n), data = _read_idx(path, raw, LABEL_MAGIC, 2)
    if len(data) != n:
        raise _corrupt(path, f"truncated or wrong size: header says {n} labels, found {len(data)} bytes")
    labels = np.frombuffer(data, dtype=np.uint8)
    if labels.size and labels.max() > 9:
        raise _corrupt(path, f"label {labels.max()} out of range 0-9")
    return labels


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Load a data set and print what was loaded.")
    parser.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    parser.add_argument("--data-dir", help="folder of the four .gz files (default: $MNIST_DATA_DIR or "
                                           "$FASHION_MNIST_DATA_DIR, else data/ or data/fashion/)")
    args = parser.parse_args()
    start = time.perf_counter()
    try:
        mnist = read_data_sets(args.data_dir, args.dataset)
    except MnistDataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    seconds = time.perf_counter() - start
    for name, ds in zip(("train", "test"), mnist):
        print(f"{name}: images {ds.images.shape} {ds.images.dtype}, labels {ds.labels.shape} {ds.labels.dtype}")
    print(f"loaded {sum(ds.num_examples for ds in mnist)} {mnist.noun} of {mnist.name} from "
          f"{resolve_data_dir(args.data_dir, args.dataset)} in {seconds:.2f} s")
