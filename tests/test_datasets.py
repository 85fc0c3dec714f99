"""fastblas.datasets: the IDX reader, where the loader looks, the embedded subset."""
import gzip
import os

import numpy as np
import pytest

from fastblas import datasets
from fastblas.datasets import EmbeddedDataWarning, load_fashion_mnist, read_idx

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array, type_code=0x08):
    """IDX encoding written here from the format's description, independently of the reader."""
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path, payload, gz=True):
    path = str(path) + (".gz" if gz else "")
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(payload)
    return path


def write_dataset(directory, n_train, n_test, seed, gz=True):
    """Random Fashion-MNIST-shaped IDX files; returns {subset: (images, labels)}."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    written = {}
    for subset, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        image_name, label_name = FILES[subset]
        write(os.path.join(directory, image_name), idx_bytes(images), gz)
        write(os.path.join(directory, label_name), idx_bytes(labels), gz)
        written[subset] = images, labels
    return written


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    """Every test decompresses into its own cache directory, never the user's."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "fastblas"


@pytest.fixture
def no_installed_data(monkeypatch, tmp_path):
    """Neither FASTBLAS_DATA nor the Debian directory: the embedded subset is what remains."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", str(tmp_path / "no-debian-package"))


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reads_idx_files_written_here(tmp_path, gz, dtype):
    written = write_dataset(tmp_path, n_train=7, n_test=3, seed=1, gz=gz)
    for subset in ("train", "test"):
        X, y = load_fashion_mnist(subset, path=tmp_path, dtype=dtype)
        images, labels = written[subset]
        assert X.dtype == dtype and X.shape == (len(images), 784)
        np.testing.assert_allclose(X, images.reshape(len(images), -1) / 255.0,
                                   rtol=np.finfo(dtype).eps)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, labels)


def test_read_idx_returns_the_header_shape(tmp_path):
    array = np.random.default_rng(2).integers(0, 256, size=(2, 3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "a.idx", idx_bytes(array))), array)


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x00\x08\x01" + np.array([3], ">u4").tobytes() + b"abc", "magic"),
    (b"\x00\x00\x0d\x01" + np.array([3], ">u4").tobytes() + b"abc", "element type"),
    (b"\x00\x00", "magic"),
    (b"\x00\x00\x08\x03" + np.array([2], ">u4").tobytes(), "truncated IDX header"),
    (b"\x00\x00\x08\x01" + np.array([5], ">u4").tobytes() + b"abc", "truncated"),
    (b"\x00\x00\x08\x01" + np.array([2], ">u4").tobytes() + b"abc", "trailing bytes"),
], ids=["bad-magic", "float-type", "short", "header-cut", "data-cut", "trailing"])
@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
def test_invalid_idx_is_refused_naming_the_file(tmp_path, payload, message, gz):
    path = write(tmp_path / "broken-idx1-ubyte", payload, gz)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert path in str(info.value)


def test_corrupt_and_cut_gzip_streams_name_the_file(tmp_path):
    whole = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"this is not gzip data at all")
    for path in (cut, garbage):
        with pytest.raises(ValueError, match="corrupt or truncated") as info:
            read_idx(path)
        assert str(path) in str(info.value)


def test_truncated_image_file_in_a_dataset(tmp_path):
    write_dataset(tmp_path, n_train=4, n_test=2, seed=3)
    images = np.zeros((4, 28, 28), np.uint8)
    name = write(tmp_path / FILES["train"][0], idx_bytes(images)[:-100])
    with pytest.raises(ValueError, match="truncated") as info:
        load_fashion_mnist("train", path=tmp_path)
    assert name in str(info.value)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((4, 28, 28)), np.zeros(5), "holds 5 labels but"),
    (np.zeros((4, 27, 28)), np.zeros(4), r"shape \(n, 28, 28\)"),
    (np.zeros((4, 784)), np.zeros(4), r"shape \(n, 28, 28\)"),
    (np.zeros((4, 28, 28)), np.zeros((4, 1)), "1-D label"),
    (np.zeros((4, 28, 28)), np.full(4, 10), "label 10 is not in 0-9"),
], ids=["count-mismatch", "27x28", "flat", "2-D-labels", "label-10"])
def test_mismatched_files_are_refused(tmp_path, images, labels, message):
    write_dataset(tmp_path, n_train=4, n_test=2, seed=4)
    write(tmp_path / FILES["train"][0], idx_bytes(images))
    write(tmp_path / FILES["train"][1], idx_bytes(labels))
    with pytest.raises(ValueError, match=message) as info:
        load_fashion_mnist("train", path=tmp_path)
    assert "idx" in str(info.value)   # names a file


def test_path_then_environment_then_debian_directory(tmp_path, monkeypatch):
    for name, n in (("arg", 3), ("env", 5), ("debian", 6)):
        write_dataset(tmp_path / name, n_train=n, n_test=1, seed=n)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", str(tmp_path / "debian"))
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    assert load_fashion_mnist()[0].shape[0] == 6
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env"))
    assert load_fashion_mnist()[0].shape[0] == 5
    assert load_fashion_mnist(path=tmp_path / "arg")[0].shape[0] == 3


@pytest.mark.parametrize("origin", ["path", "env"])
def test_named_directory_without_the_files_is_an_error(tmp_path, monkeypatch, origin,
                                                       no_installed_data):
    empty = tmp_path / "empty"
    empty.mkdir()
    if origin == "env":
        monkeypatch.setenv(datasets.ENV_VAR, str(empty))
    with pytest.raises(FileNotFoundError, match="empty"):
        load_fashion_mnist(path=empty if origin == "path" else None)


def test_embedded_subset_is_the_fallback_and_says_so(no_installed_data):
    with pytest.warns(EmbeddedDataWarning, match="apt-get install dataset-fashion-mnist"):
        X_train, y_train = load_fashion_mnist("train")
    with pytest.warns(EmbeddedDataWarning):
        X_test, y_test = load_fashion_mnist("test", dtype=np.float64)
    assert X_train.shape == (5000, 784) and X_train.dtype == np.float32
    assert X_test.shape == (1000, 784) and X_test.dtype == np.float64
    assert 0.0 <= X_train.min() and X_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 500))
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 100))
    # a real image set, not noise: the mean image of each class is distinct
    means = np.array([X_train[y_train == c].mean(axis=0) for c in range(10)])
    assert np.linalg.matrix_rank(means) == 10


def test_embedded_subset_rows_come_from_the_full_data(no_installed_data):
    if not datasets._has_files("/usr/share/datasets/fashion-mnist"):
        pytest.skip("the Debian package dataset-fashion-mnist is not installed")
    with pytest.warns(EmbeddedDataWarning):
        X_sub, y_sub = load_fashion_mnist("test")
    X_full, y_full = load_fashion_mnist("test", path="/usr/share/datasets/fashion-mnist")
    assert X_full.shape == (10000, 784)
    keep = np.sort(np.concatenate([np.flatnonzero(y_full == c)[:100] for c in range(10)]))
    np.testing.assert_array_equal(X_sub, X_full[keep])
    np.testing.assert_array_equal(y_sub, y_full[keep])


@pytest.mark.parametrize("kwargs, message", [
    (dict(subset="validation"), "subset"),
    (dict(dtype=np.int32), "dtype"),
    (dict(dtype=np.float16), "dtype"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist(**kwargs)


def scaled(images):
    """The loader's float32 X for these uint8 images, computed the same way."""
    X = images.reshape(len(images), 784).astype(np.float32)
    X /= 255
    return X


def cached_files(cache):
    return sorted(p for p in cache.rglob("*-ubyte"))


def test_gzipped_files_are_decompressed_once_into_the_cache(tmp_path, private_cache,
                                                             monkeypatch):
    written = write_dataset(tmp_path / "data", n_train=6, n_test=2, seed=5)
    assert datasets.cache_dir() == str(private_cache)
    first = load_fashion_mnist("train", path=tmp_path / "data")
    assert [p.name for p in cached_files(private_cache)] == list(FILES["train"])

    def no_gzip(*args, **kwargs):
        raise AssertionError("decompressed again")
    monkeypatch.setattr(datasets.gzip, "open", no_gzip)
    second = load_fashion_mnist("train", path=tmp_path / "data")
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(second[1], written["train"][1])


def test_default_cache_is_under_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.cache_dir() == os.path.join(str(tmp_path), ".cache", "fastblas")


def test_a_changed_source_rebuilds_its_cache_entry(tmp_path):
    directory = tmp_path / "data"
    write_dataset(directory, n_train=5, n_test=2, seed=6)
    load_fashion_mnist("train", path=directory)
    newer = write_dataset(directory, n_train=8, n_test=2, seed=7)
    image_file = directory / (FILES["train"][0] + ".gz")
    stat = image_file.stat()
    os.utime(image_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    X, y = load_fashion_mnist("train", path=directory)
    np.testing.assert_array_equal(X, scaled(newer["train"][0]))
    np.testing.assert_array_equal(y, newer["train"][1])


@pytest.mark.parametrize("damage", ["truncate", "extend", "stamp"])
def test_a_damaged_cache_entry_is_rebuilt(tmp_path, private_cache, damage):
    written = write_dataset(tmp_path / "data", n_train=5, n_test=2, seed=8)
    load_fashion_mnist("train", path=tmp_path / "data")
    images = next(p for p in cached_files(private_cache) if "images" in p.name)
    if damage == "truncate":
        images.write_bytes(images.read_bytes()[:-100])
    elif damage == "extend":
        images.write_bytes(images.read_bytes() + b"\0")
    else:
        (images.parent / (images.name + ".source")).write_text("garbage")
    X, _ = load_fashion_mnist("train", path=tmp_path / "data")
    np.testing.assert_array_equal(X, scaled(written["train"][0]))


def test_an_unwritable_cache_is_done_without(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    written = write_dataset(tmp_path / "data", n_train=4, n_test=2, seed=9)
    X, y = load_fashion_mnist("test", path=tmp_path / "data")
    np.testing.assert_array_equal(X, scaled(written["test"][0]))


def test_a_corrupt_gzip_names_the_source_not_the_cache(tmp_path, private_cache):
    write_dataset(tmp_path, n_train=4, n_test=2, seed=10)
    broken = tmp_path / (FILES["train"][0] + ".gz")
    broken.write_bytes(broken.read_bytes()[:30])
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        load_fashion_mnist("train", path=tmp_path)
    assert str(broken) in str(info.value)
    assert not [p for p in private_cache.rglob("*") if p.is_file() and "images" in p.name]


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
@pytest.mark.parametrize("n_samples, expected", [(0, 0), (3, 3), (7, 7), (100, 7)])
def test_n_samples_returns_the_first_images(tmp_path, gz, n_samples, expected):
    written = write_dataset(tmp_path, n_train=7, n_test=2, seed=11, gz=gz)
    X, y = load_fashion_mnist("train", path=tmp_path, n_samples=n_samples)
    assert X.shape == (expected, 784) and y.shape == (expected,)
    assert type(X) is np.ndarray and X.flags.writeable and X.flags.c_contiguous
    np.testing.assert_array_equal(X, scaled(written["train"][0][:expected]))
    np.testing.assert_array_equal(y, written["train"][1][:expected])


def test_n_samples_of_the_embedded_subset(no_installed_data):
    with pytest.warns(EmbeddedDataWarning):
        X, y = load_fashion_mnist("test", n_samples=10)
    assert X.shape == (10, 784) and y.shape == (10,)


@pytest.mark.parametrize("n_samples", [-1, 2.5, "10"])
def test_bad_n_samples_is_named(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        load_fashion_mnist(n_samples=n_samples)
