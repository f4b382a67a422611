"""Tests for mnistdata: synthetic IDX files in tmp_path, plus real MNIST if MNIST_DATA_DIR is set."""

import gzip
import hashlib
import os
import shutil
import struct

import numpy as np
import pytest

import mnistdata  # (the repository is on sys.path: see conftest.py)
import mnistfiles
from mnistdata import MnistDataError

N_TRAIN, N_TEST = 50, 20


def idx_images(images, magic=2051, count=None):
    n, rows, cols = images.shape
    return struct.pack(">iiii", magic, n if count is None else count, rows, cols) + images.tobytes()


def idx_labels(labels, magic=2049, count=None):
    return struct.pack(">ii", magic, len(labels) if count is None else count) + labels.tobytes()


def write_gz(path, raw):
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, compresslevel=1))


def synthetic(n):
    """n images where every pixel of image i is i (so batches can be traced back), labels i % 10."""
    images = np.repeat(np.arange(n, dtype=np.uint8), 28 * 28).reshape(n, 28, 28)
    return images, (np.arange(n) % 10).astype(np.uint8)


def make_mnist(d, n_train=N_TRAIN, n_test=N_TEST):
    """Write the four MNIST files, with synthetic contents, into d."""
    os.makedirs(d, exist_ok=True)
    for images_name, labels_name, n in [
        (mnistdata.TRAIN_IMAGES, mnistdata.TRAIN_LABELS, n_train),
        (mnistdata.TEST_IMAGES, mnistdata.TEST_LABELS, n_test),
    ]:
        images, labels = synthetic(n)
        write_gz(os.path.join(d, images_name), idx_images(images))
        write_gz(os.path.join(d, labels_name), idx_labels(labels))
    return str(d)


def example_ids(images):
    """Which synthetic example each image is."""
    return np.rint(images.reshape(len(images), -1)[:, 0] * 255).astype(int)


@pytest.fixture
def no_download(monkeypatch):
    """Simulate no network: every download fails."""

    def fail(fname, data_dir, known=None):
        raise OSError("no network")

    monkeypatch.setattr(mnistfiles, "download", fail)


def load_error(data_dir):
    with pytest.raises(MnistDataError) as info:
        mnistdata.read_data_sets(data_dir)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- loading and options ---------------------------------------------------


def test_default_shapes_and_values(tmp_path):
    mnist = mnistdata.read_data_sets(make_mnist(tmp_path))
    train, test = mnist.train, mnist.test
    assert train.num_examples == N_TRAIN and test.num_examples == N_TEST
    assert train.images.shape == (N_TRAIN, 28, 28, 1) and train.images.dtype == np.float32
    assert train.labels.shape == (N_TRAIN, 10) and train.labels.dtype == np.float32
    assert test.images.shape == (N_TEST, 28, 28, 1)
    np.testing.assert_allclose(train.images[:, 5, 5, 0], np.arange(N_TRAIN) / 255, rtol=1e-6)
    assert train.labels.sum() == N_TRAIN
    np.testing.assert_array_equal(train.labels.argmax(1), np.arange(N_TRAIN) % 10)


def test_reshape_and_dense_labels(tmp_path):
    mnist = mnistdata.read_data_sets(make_mnist(tmp_path), one_hot=False, reshape=True)
    assert mnist.train.images.shape == (N_TRAIN, 784) and mnist.train.images.dtype == np.float32
    assert mnist.test.images.shape == (N_TEST, 784)
    assert mnist.train.labels.shape == (N_TRAIN,) and np.issubdtype(mnist.train.labels.dtype, np.integer)
    np.testing.assert_array_equal(mnist.train.labels, np.arange(N_TRAIN) % 10)
    assert 0 <= mnist.train.images.min() and mnist.train.images.max() <= 1


def test_data_dir_precedence(tmp_path, monkeypatch, no_download):
    arg, env, default = (make_mnist(tmp_path / name, n_train=n) for name, n in [("arg", 11), ("env", 12), ("default", 13)])
    monkeypatch.setattr(mnistdata.DATASETS["mnist"], "folder", default)
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    message = load_error(None)  # the download folder: made-up files there are no MNIST
    assert default in message and "delete it" in message
    monkeypatch.setenv("MNIST_DATA_DIR", env)
    assert mnistdata.read_data_sets().train.num_examples == 12
    assert mnistdata.read_data_sets(arg).train.num_examples == 11


def test_default_dir_is_data_beside_module():
    here = os.path.dirname(os.path.abspath(mnistdata.__file__))
    assert mnistdata.DEFAULT_DATA_DIR == os.path.join(here, "data")


# --- next_batch --------------------------------------------------------------


def test_next_batch_covers_each_epoch_once_and_reshuffles(tmp_path):
    np.random.seed(1)
    train = mnistdata.read_data_sets(make_mnist(tmp_path)).train
    # Batches of 15 cross epoch boundaries (50 examples) in the middle of a batch.
    batches = [train.next_batch(15) for _ in range(10)]
    ids = np.concatenate([example_ids(x) for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(labels.argmax(1), ids % 10)  # images and labels stay paired
    epochs = ids.reshape(3, N_TRAIN)
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(N_TRAIN))
    assert not np.array_equal(epochs[0], np.arange(N_TRAIN))  # the first epoch is shuffled too
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert train.epochs_completed == 3 and train.epoch == pytest.approx(3.0)


def test_epoch_counters(tmp_path):
    train = mnistdata.read_data_sets(make_mnist(tmp_path)).train
    assert train.epochs_completed == 0 and train.epoch == 0.0
    for _ in range(4):
        train.next_batch(15)
    assert train.epochs_completed == 1 and train.epoch == pytest.approx(1.2)
    assert isinstance(train.epochs_completed, int)


def test_big_batch_equals_consecutive_small_batches(tmp_path):
    data_dir = make_mnist(tmp_path)
    np.random.seed(7)
    small = mnistdata.read_data_sets(data_dir).train
    parts = [small.next_batch(15) for _ in range(8)]
    np.random.seed(7)
    big = mnistdata.read_data_sets(data_dir).train
    x, y = big.next_batch(15 * 8)
    np.testing.assert_array_equal(x, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(y, np.concatenate([p[1] for p in parts]))
    # And they stay in step afterwards.
    np.testing.assert_array_equal(big.next_batch(30)[0], np.concatenate([small.next_batch(15)[0] for _ in range(2)]))


# --- missing files and downloads --------------------------------------------


def test_missing_files_offline(tmp_path, no_download):
    data_dir = str(tmp_path / "nothing here")
    message = load_error(data_dir)
    for name in mnistdata.FILES:
        assert name in message
    assert data_dir in message and "MNIST_DATA_DIR" in message and "--data-dir" in message
    assert "no network" in message


def test_only_the_missing_file_is_named(tmp_path, no_download):
    data_dir = make_mnist(tmp_path)
    os.remove(os.path.join(data_dir, mnistdata.TEST_LABELS))
    message = load_error(data_dir)
    assert mnistdata.TEST_LABELS in message and mnistdata.TRAIN_IMAGES not in message


def test_missing_files_are_downloaded(tmp_path, monkeypatch):
    source = make_mnist(tmp_path / "mirror")
    data_dir = str(tmp_path / "new" / "data")
    fetched = []

    def fake_download(fname, d, known=None):
        fetched.append(fname)
        shutil.copy(os.path.join(source, fname), os.path.join(d, fname))

    monkeypatch.setattr(mnistfiles, "download", fake_download)
    assert mnistdata.read_data_sets(data_dir).train.num_examples == N_TRAIN
    assert sorted(fetched) == sorted(mnistdata.FILES)
    fetched.clear()
    mnistdata.read_data_sets(data_dir)
    assert fetched == []  # present files are not fetched again


def test_unwritable_data_dir(tmp_path, no_download):
    # Tests run as root, so chmod cannot make a directory read-only: use a regular file as parent.
    (tmp_path / "a_file").write_text("not a directory")
    data_dir = str(tmp_path / "a_file" / "data")
    message = load_error(data_dir)
    assert data_dir in message and "--data-dir" in message and "MNIST_DATA_DIR" in message


def test_download_through_keras_get_file(tmp_path, monkeypatch):
    """The real download(): file:// mirrors, md5 checked, first mirror failing, nothing left behind."""
    source = make_mnist(tmp_path / "mirror")
    gz_md5 = {f: hashlib.md5(open(os.path.join(source, f), "rb").read()).hexdigest() for f in mnistdata.FILES}
    monkeypatch.setattr(mnistdata.DATASETS["mnist"], "gz_md5", gz_md5)
    monkeypatch.setattr(mnistdata.DATASETS["mnist"], "mirrors",
                        [(tmp_path / "down").as_uri() + "/", (tmp_path / "mirror").as_uri() + "/"])
    data_dir = str(tmp_path / "data")
    assert mnistdata.read_data_sets(data_dir).train.num_examples == N_TRAIN
    assert sorted(os.listdir(data_dir)) == sorted(mnistdata.FILES)

    # A file whose md5 does not match on every mirror is never put in place.
    os.remove(os.path.join(data_dir, mnistdata.TRAIN_LABELS))
    monkeypatch.setitem(gz_md5, mnistdata.TRAIN_LABELS, "0" * 32)
    message = load_error(data_dir)
    assert mnistdata.TRAIN_LABELS in message
    assert sorted(os.listdir(data_dir)) == sorted(set(mnistdata.FILES) - {mnistdata.TRAIN_LABELS})


# --- corrupt files -----------------------------------------------------------


def corrupt_case(tmp_path, fname, raw=None, gz_bytes=None):
    data_dir = make_mnist(tmp_path)  # a folder the user gives: its structure is still checked
    path = os.path.join(data_dir, fname)
    if gz_bytes is not None:
        with open(path, "wb") as f:
            f.write(gz_bytes)
    else:
        write_gz(path, raw)
    message = load_error(data_dir)
    # the other files are the user's own: a downloaded MNIST file would not go with them
    assert path in message and "replace it with a good copy" in message
    assert "delete it so" not in message
    return message


def test_truncated_images(tmp_path):
    images, _ = synthetic(N_TRAIN)
    raw = idx_images(images)[:-784]  # header says 50 images, 49 are there
    assert "truncated" in corrupt_case(tmp_path, mnistdata.TRAIN_IMAGES, raw)


def test_truncated_labels(tmp_path):
    _, labels = synthetic(N_TEST)
    assert "truncated" in corrupt_case(tmp_path, mnistdata.TEST_LABELS, idx_labels(labels)[:-3])


def test_truncated_header(tmp_path):
    assert "truncated" in corrupt_case(tmp_path, mnistdata.TEST_IMAGES, b"\x00\x00\x08\x03")


def test_truncated_gzip_stream(tmp_path):
    images, _ = synthetic(N_TRAIN)
    gz = gzip.compress(idx_images(images))
    assert "gzip" in corrupt_case(tmp_path, mnistdata.TRAIN_IMAGES, gz_bytes=gz[: len(gz) // 2])


def test_bad_gzip_bytes(tmp_path):
    assert "gzip" in corrupt_case(tmp_path, mnistdata.TRAIN_LABELS, gz_bytes=b"<html>404 Not Found</html>")


def test_bad_magic(tmp_path):
    images, _ = synthetic(N_TRAIN)
    assert "magic" in corrupt_case(tmp_path, mnistdata.TRAIN_IMAGES, idx_images(images, magic=2049))


def test_label_out_of_range(tmp_path):
    _, labels = synthetic(N_TRAIN)
    labels[3] = 10
    assert "out of range" in corrupt_case(tmp_path, mnistdata.TRAIN_LABELS, idx_labels(labels))


def test_wrong_image_size(tmp_path):
    images = np.zeros((N_TRAIN, 32, 32), dtype=np.uint8)
    assert "32x32" in corrupt_case(tmp_path, mnistdata.TRAIN_IMAGES, idx_images(images))


def test_image_label_count_mismatch(tmp_path):
    data_dir = make_mnist(tmp_path)
    _, labels = synthetic(N_TEST - 1)
    write_gz(os.path.join(data_dir, mnistdata.TEST_LABELS), idx_labels(labels))
    message = load_error(data_dir)
    assert os.path.join(data_dir, mnistdata.TEST_IMAGES) in message
    assert os.path.join(data_dir, mnistdata.TEST_LABELS) in message
    assert message.endswith("replace both with good copies: deleting both would download the "
                            "official MNIST files, which would not go with the others")


def test_the_download_folder_holds_only_official_files(tmp_path, monkeypatch):
    """There a file that is not MNIST's is a damaged download: delete it, it comes again."""
    monkeypatch.setattr(mnistdata.DATASETS["mnist"], "folder", make_mnist(tmp_path))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    message = load_error(None)
    assert "MNIST's sha256" in message and "delete it so it is downloaded again" in message


def test_deleting_is_advised_only_where_a_download_could_replace(tmp_path, monkeypatch):
    data_dir = make_mnist(tmp_path)
    write_gz(os.path.join(data_dir, mnistdata.TEST_LABELS), b"not an IDX file")
    monkeypatch.setattr(mnistfiles.os, "access", lambda path, mode: False)  # a read-only folder
    message = load_error(data_dir)
    assert "delete" not in message and "replace it with a good copy (read-only folder)" in message


# --- what to do about a damaged file: delete it only where the download brings back a match --


def count_as_official(monkeypatch, data_dir, key="mnist"):
    """Make the synthetic files of data_dir the official files of a known set, as they are now
    (the md5 of each .gz; the image counts of the synthetic set)."""
    gz_md5 = {f: hashlib.md5(open(os.path.join(data_dir, f), "rb").read()).hexdigest()
              for f in mnistdata.FILES}
    monkeypatch.setattr(mnistdata.DATASETS[key], "gz_md5", gz_md5)
    for name in mnistdata.FILES:
        monkeypatch.setitem(mnistdata.COUNTS, name, N_TEST if name.startswith("t10k") else N_TRAIN)
    return data_dir


def truncate(data_dir, name=mnistdata.TRAIN_IMAGES):
    """Damage a file as an interrupted copy does: its last bytes gone."""
    path = os.path.join(data_dir, name)
    write_gz(path, gzip.decompress(open(path, "rb").read())[:-100])
    return path


def test_a_damaged_file_among_official_files_is_to_be_deleted(tmp_path, monkeypatch):
    data_dir = count_as_official(monkeypatch, make_mnist(tmp_path))
    assert mnistdata.read_data_sets(data_dir).official
    path = truncate(data_dir)
    message = load_error(data_dir)
    assert message.startswith(f"{path}: truncated")
    assert message.endswith("; delete it so it is downloaded again")


def test_a_damaged_file_among_the_users_own_files_is_to_be_replaced(tmp_path):
    """Deleting it would bring MNIST's official file beside files that are not MNIST's."""
    data_dir = make_mnist(tmp_path)
    path = truncate(data_dir)
    message = load_error(data_dir)
    assert message.startswith(f"{path}: truncated") and "delete it so" not in message
    assert message.endswith("; replace it with a good copy: deleting it would download the "
                            "official MNIST file, which would not go with the others")


def test_a_damaged_file_among_another_sets_files_names_that_set(tmp_path, monkeypatch):
    """Fashion-MNIST's files under --dataset mnist: the download must be Fashion-MNIST's."""
    data_dir = count_as_official(monkeypatch, make_mnist(tmp_path), key="fashion")
    truncate(data_dir, mnistdata.TEST_LABELS)
    assert load_error(data_dir).endswith(f"; delete it, then run with --dataset fashion "
                                         f"--data-dir {data_dir} so it is downloaded again")


def test_a_folder_of_damaged_files_is_to_be_emptied(tmp_path):
    """Nothing of the user's would be mixed with the downloads: every file comes again."""
    for name in mnistdata.FILES:
        (tmp_path / name).write_bytes(b"<html>404 Not Found</html>")
    assert load_error(str(tmp_path)).endswith("; delete it so it is downloaded again")


def test_no_deleting_in_a_system_folder_even_where_root_may_write(tmp_path, monkeypatch):
    """A package's files (/usr/share/datasets): os.access says yes to root, deleting is no fix."""
    data_dir = count_as_official(monkeypatch, make_mnist(tmp_path / "share" / "datasets"))
    monkeypatch.setattr(mnistfiles, "SYSTEM_FOLDERS", [str(tmp_path / "share")])
    truncate(data_dir)
    message = load_error(data_dir)
    assert "delete" not in message
    assert message.endswith("; replace it with a good copy (a system folder: reinstall the "
                            "package the files come from)")


def test_files_of_no_known_set_are_used_with_a_line_saying_so(tmp_path, capsys):
    mnist = mnistdata.read_data_sets(make_mnist(tmp_path))
    assert mnist.train.num_examples == N_TRAIN and not mnist.official
    err = capsys.readouterr().err
    assert err.strip() == f"the files in {tmp_path} are not the official MNIST files: used as they are"


# --- real MNIST ---------------------------------------------------------------

REAL_DIR = os.environ.get("MNIST_DATA_DIR")
needs_real = pytest.mark.skipif(not REAL_DIR, reason="real MNIST not available: set MNIST_DATA_DIR to a directory with the four files")


@pytest.fixture(scope="module")
def real_mnist():
    return mnistdata.read_data_sets(REAL_DIR)  # also checks the sha256 of all four files


@needs_real
def test_real_mnist(real_mnist):
    train, test = real_mnist.train, real_mnist.test
    assert (train.num_examples, test.num_examples) == (60000, 10000)
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert train.labels.shape == (60000, 10) and test.labels.shape == (10000, 10)
    for ds in real_mnist:
        assert ds.images.dtype == np.float32 and ds.images.min() == 0.0 and ds.images.max() == 1.0
    assert train.labels.sum(0).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test.labels.sum(0).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_real
def test_real_mnist_altered_label_is_caught(tmp_path, monkeypatch, capsys):
    """Flip one real label (still in range 0-9): only the checksums can tell. In the download
    folder, it is a damaged file; in a folder of the user's, the files are no longer MNIST's."""
    for f in mnistdata.FILES:
        os.symlink(os.path.join(os.path.abspath(REAL_DIR), f), tmp_path / f)
    path = tmp_path / mnistdata.TRAIN_LABELS
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[8] = (raw[8] + 1) % 10
    path.unlink()
    write_gz(path, bytes(raw))
    assert not mnistdata.read_data_sets(str(tmp_path)).official
    assert "not the official MNIST files" in capsys.readouterr().err
    monkeypatch.setattr(mnistdata.DATASETS["mnist"], "folder", str(tmp_path))
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    message = load_error(None)
    assert str(path) in message and "sha256" in message and "delete" in message


FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
needs_fashion = pytest.mark.skipif(not os.path.isdir(FASHION_DIR),
                                   reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")


@needs_fashion
def test_fashion_mnist_is_recognised_by_its_files(capsys):
    fashion = mnistdata.read_data_sets(FASHION_DIR, "fashion")
    assert (fashion.name, fashion.noun, fashion.official) == ("Fashion-MNIST", "images", True)
    assert fashion.classes[0] == "T-shirt/top" and fashion.classes[9] == "Ankle boot"
    assert fashion.train.labels.sum(0).tolist() == [6000] * 10
    assert capsys.readouterr().err == ""
    as_mnist = mnistdata.read_data_sets(FASHION_DIR)  # --dataset left at mnist: the files decide
    assert as_mnist.name == "Fashion-MNIST"
    assert capsys.readouterr().err.strip() == (f"{FASHION_DIR} holds Fashion-MNIST, not MNIST: "
                                               "training on Fashion-MNIST (--dataset fashion)")


def test_fashion_mnist_downloads_from_its_own_mirrors_into_its_own_folder(tmp_path, monkeypatch):
    source = make_mnist(tmp_path / "mirror")
    fashion = mnistdata.DATASETS["fashion"]
    gz_md5 = {f: hashlib.md5(open(os.path.join(source, f), "rb").read()).hexdigest() for f in mnistdata.FILES}
    monkeypatch.setattr(fashion, "gz_md5", gz_md5)
    monkeypatch.setattr(fashion, "mirrors", [(tmp_path / "mirror").as_uri() + "/"])
    monkeypatch.setenv("FASHION_MNIST_DATA_DIR", str(tmp_path / "fashion"))
    assert mnistdata.resolve_data_dir(None, "fashion") == str(tmp_path / "fashion")
    mnist = mnistdata.read_data_sets(dataset="fashion")
    assert mnist.train.num_examples == N_TRAIN
    assert sorted(os.listdir(tmp_path / "fashion")) == sorted(mnistdata.FILES)


def test_an_unknown_data_set_is_a_one_line_error():
    with pytest.raises(MnistDataError, match="unknown data set 'emnist': choose one of mnist, fashion"):
        mnistdata.read_data_sets(dataset="emnist")


# --- read while TensorFlow loads ----------------------------------------------


def test_a_prefetched_set_is_the_one_read_data_sets_returns_and_its_note_comes_then(tmp_path,
                                                                                    capsys):
    folder = make_mnist(tmp_path)  # no known set: one note, "used as they are"
    assert mnistdata.prefetch(folder)
    assert capsys.readouterr().err == "", "the note waits for the rung to ask for the data"
    prefetched = mnistdata.read_data_sets(folder)
    assert capsys.readouterr().err.count("used as they are") == 1
    again = mnistdata.read_data_sets(folder)  # read anew: a prefetch is taken once
    assert prefetched is not again
    np.testing.assert_array_equal(prefetched.train.images, again.train.images)
    np.testing.assert_array_equal(prefetched.test.labels, again.test.labels)


def test_a_prefetch_is_taken_only_with_the_same_arguments(tmp_path):
    folder = make_mnist(tmp_path)
    mnistdata.prefetch(folder, one_hot=True)
    dense = mnistdata.read_data_sets(folder, one_hot=False)
    assert dense.train.labels.ndim == 1
    mnistdata.read_data_sets(folder, one_hot=True)  # takes it: nothing left behind
    assert not mnistdata._prefetched


def test_nothing_is_prefetched_where_files_are_missing_and_problems_come_once(tmp_path, capsys,
                                                                              no_download):
    assert not mnistdata.prefetch(str(tmp_path / "nothing here"))
    folder = make_mnist(tmp_path / "damaged")
    truncate(folder)
    assert mnistdata.prefetch(folder)
    message = load_error(folder)  # the error of the rung's own reading, in its place
    assert mnistdata.TRAIN_IMAGES in message
    assert capsys.readouterr().err.count("\n") <= 1
