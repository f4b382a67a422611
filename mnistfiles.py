"""The four IDX files of MNIST and its kin: which sets are published and where, downloading
them, and reading them, every file checked.

    splits, identity, official, notes = mnistfiles.read_files(folder, DATASETS["mnist"], own)

The public face is mnistdata.py (read_data_sets, the batcher); this is what it stands on:

- DATASETS: the published sets (MNIST, Fashion-MNIST), each a Known: its name, the names of
  its classes, its environment variable and download folder, its mirrors and checksums;
- fetch_missing / download: the files a folder lacks, from the set's mirrors, each download
  checked against the md5 its publisher gives and moved into place only once complete;
- read_files: the four files as uint8 arrays, and which set they are.

Every file is checked when it is read (gzip, IDX header, sizes, label range; images and labels
agree). A known data set is recognised by its files: the md5 of the .gz as published, or the
sha256 of the decompressed contents (so that a recompressed copy, such as Debian's, passes),
whatever --dataset says. The folder the loader downloads a set into (data/, data/fashion/)
must hold its official files. In a folder the user gives (`data_dir`, the environment
variables), four IDX files of the right structure that are no known set are used as they are,
with a note saying so. Any problem raises MnistDataError with a one-line message that names
the file or folder and the fix. A damaged file is to be deleted, so that it is downloaded
again, only where that gives a good set (see _advice): in a set's download folder, or beside
official files of a set; beside the user's own files, a downloaded official file would not
match them, so the advice is to replace it.

Only numpy is imported here; Keras is imported only when a download is needed.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
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
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
ROWS = COLS = 28


class MnistDataError(Exception):
    """The MNIST files are missing, unreadable or corrupt; the message says how to fix it."""


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
        {TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
         TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
         TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c"},
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
        {TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
         TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
         TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310"},
        # of the decompressed files, as in Debian's dataset-fashion-mnist (whose .gz differ)
        {TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
         TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
         TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
         TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
}


def read_files(data_dir, known, own_folder):
    """Read and check the four files of data_dir: ([(train images, train labels), (test images,
    test labels)] as uint8 arrays [N, 28, 28] and [N], the known set they are, whether they are
    its official files, the notes to show the user). own_folder: data_dir is the set's download
    folder (data/, data/fashion/), which must hold its official files. Raises MnistDataError,
    its message naming the file and what to do about it."""
    try:
        raw = {name: _read_raw(os.path.join(data_dir, name)) for name in FILES}
        splits = []  # the structure of every file first: its problems are the clearest to report
        for images_name, labels_name in [(TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)]:
            images_path = os.path.join(data_dir, images_name)
            labels_path = os.path.join(data_dir, labels_name)
            images = _read_images(images_path, raw[images_name])
            labels = _read_labels(labels_path, raw[labels_name])
            if len(images) != len(labels):
                raise _Damaged([images_name, labels_name],
                               f"{images_path} has {len(images)} images but {labels_path} has "
                               f"{len(labels)} labels")
            splits.append((images, labels))
        identity, official, notes = _identify(raw, data_dir, known, own_folder)
    except _Damaged as damaged:
        advice = _advice(data_dir, damaged.names, known, own_folder)
        raise MnistDataError(f"{damaged.problem}; {advice}") from None
    return splits, identity, official, notes


def _identify(raw, data_dir, known, own_folder):
    """(the known data set the files are, whether they are its official files, notes). The
    files of another known set are that set, with a note saying so. In a data set's own folder,
    its files must be official; elsewhere, other files are used as they are, with a note."""
    matches = {name: {key for key, other in DATASETS.items() if _is_official(contents, name, other)}
               for name, contents in raw.items()}
    everywhere = set.intersection(*matches.values())
    if known.key in everywhere:
        return known, True, []
    for key in everywhere:
        return DATASETS[key], True, [f"{data_dir} holds {DATASETS[key].name}, not {known.name}: "
                                     f"training on {DATASETS[key].name} (--dataset {key})"]
    if own_folder:
        bad = next(name for name in FILES if known.key not in matches[name])
        raise _corrupt(os.path.join(data_dir, bad), f"contents do not match {known.name}'s sha256")
    return known, False, [f"the files in {data_dir} are not the official {known.name} files: "
                          "used as they are"]


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


def fetch_missing(data_dir, known):
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
        raise _corrupt(path, f"truncated or wrong size: header says {n} images, found "
                             f"{len(pixels)} pixel bytes")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(n, rows, cols)


def _read_labels(path, raw):
    """uint8 labels [N] from an IDX1 file."""
    (_, n), data = _read_idx(path, raw, LABEL_MAGIC, 2)
    if len(data) != n:
        raise _corrupt(path, f"truncated or wrong size: header says {n} labels, found "
                             f"{len(data)} bytes")
    labels = np.frombuffer(data, dtype=np.uint8)
    if labels.size and labels.max() > 9:
        raise _corrupt(path, f"label {labels.max()} out of range 0-9")
    return labels
