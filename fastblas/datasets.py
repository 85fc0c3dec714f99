"""Fashion-MNIST, loaded with one call.

    from fastblas.datasets import load_fashion_mnist
    X, y = load_fashion_mnist("train")       # X: (n, 784) in [0, 1], y: labels 0-9

Where the data comes from, in order:

1. the ``path`` argument, a directory holding the four IDX files;
2. the ``FASTBLAS_DATA`` environment variable, the same;
3. ``/usr/share/datasets/fashion-mnist/`` (Debian's ``dataset-fashion-mnist``);
4. the embedded subset shipped inside this package (a warning says so, once).

The IDX files may be gzipped (``train-images-idx3-ubyte.gz``, as distributed) or
not (``train-images-idx3-ubyte``). A directory named by ``path`` or
``FASTBLAS_DATA`` must hold them: it is an error, not a fallback, when it does not.
Gzipped files are decompressed once into a cache, ``$XDG_CACHE_HOME/fastblas``
(``~/.cache/fastblas`` by default), and memory-mapped from there: a later load
reads only the images it returns. A cache entry whose source file changed, or
that was cut short, is rebuilt.

The embedded subset, ``data/fashion_mnist_subset.npz``, holds the first 500
training and the first 100 test images of each class (5000 + 1000, in their
original order, as uint8), taken from the full IDX files with this module's
reader::

    X, y = _read_pair(dir, "train")   # likewise "test"
    keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:500] for c in range(10)]))

and saved with ``np.savez_compressed(X_train=..., y_train=..., X_test=..., y_test=...)``.
Fashion-MNIST is (c) 2017 Zalando SE, MIT licence: see ``data/LICENSE-fashion-mnist``.
"""
import gzip
import hashlib
import io
import numbers
import os
import shutil
import tempfile
import warnings
from importlib import resources

import numpy as np

__all__ = ["load_fashion_mnist", "find_fashion_mnist", "read_idx", "cache_dir",
           "EmbeddedDataWarning"]

ENV_VAR = "FASTBLAS_DATA"
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
EMBEDDED_FILE = "fashion_mnist_subset.npz"
FULL_DATA_HINT = ("for the full 70000 images: `sudo apt-get install dataset-fashion-mnist`, "
                  f"or set {ENV_VAR} to a directory holding the four Fashion-MNIST IDX files")

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGE_SHAPE = (28, 28)
_N_CLASSES = 10
_UBYTE = 0x08   # the only IDX element type Fashion-MNIST uses


class EmbeddedDataWarning(UserWarning):
    """The small embedded subset is used because the full data was not found."""


def _idx_layout(head, file_size, name):
    """(shape, header length) of an IDX file from its first bytes and its size.

    IDX layout: two zero bytes, the element type (0x08 = unsigned byte), the number
    of dimensions d, then d big-endian uint32 sizes, then the elements in C order.
    Raises ValueError naming the file when the header is invalid or the data is
    shorter or longer than the header says.
    """
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise ValueError(f"{name}: not an IDX file (bad magic number)")
    if head[2] != _UBYTE:
        raise ValueError(f"{name}: IDX element type 0x{head[2]:02x} is not "
                         "supported (expected 0x08, unsigned byte)")
    ndim = head[3]
    header_len = 4 + 4 * ndim
    if len(head) < header_len:
        raise ValueError(f"{name}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(head, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    actual = file_size - header_len
    if actual != expected:
        kind = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(f"{name}: {kind}: header says shape {shape} "
                         f"({expected} bytes of data), found {actual}")
    return shape, header_len


_MAX_HEAD = 4 + 4 * 255   # the longest IDX header


def _map_idx(filename, name=None):
    """A plain IDX file as a read-only memory-mapped uint8 array (pages read on use)."""
    with open(filename, "rb") as f:
        head = f.read(_MAX_HEAD)
        size = os.fstat(f.fileno()).st_size
    shape, header_len = _idx_layout(head, size, name or filename)
    if size == header_len:        # no elements: nothing to map
        return np.zeros(shape, dtype=np.uint8)
    return np.memmap(filename, dtype=np.uint8, mode="r", offset=header_len, shape=shape)


def _gunzip(filename, target):
    """Decompress ``filename`` into the open binary file ``target``."""
    try:
        with gzip.open(filename, "rb") as source:
            shutil.copyfileobj(source, target, 1 << 20)
    except (OSError, EOFError) as exc:   # gzip.BadGzipFile is an OSError
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{filename}: cannot read ({exc}); the file is corrupt "
                         "or truncated") from exc


def read_idx(filename):
    """Read one IDX file (gzipped when the name ends in ``.gz``) as a uint8 array.

    A plain file is memory-mapped, a gzipped one decompressed in memory. Raises
    ValueError naming the file when it is not a valid IDX file of unsigned bytes
    or holds fewer or more bytes than its header says.
    """
    filename = os.fspath(filename)
    if not filename.endswith(".gz"):
        return _map_idx(filename)
    buffer = io.BytesIO()
    _gunzip(filename, buffer)
    raw = buffer.getvalue()
    shape, header_len = _idx_layout(raw[:_MAX_HEAD], len(raw), filename)
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def cache_dir():
    """Where decompressed IDX files are kept: ``$XDG_CACHE_HOME/fastblas``
    (``~/.cache/fastblas`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastblas")


def _cached_idx(filename):
    """A gzipped IDX file, decompressed once into the cache and memory-mapped.

    The cache entry records the size and modification time of the file it came
    from; an entry whose source changed, or that is cut short or damaged, is
    rebuilt. Without a writable cache, the file is decompressed in memory.
    """
    source = os.path.realpath(filename)
    status = os.stat(source)
    stamp = f"{source}\n{status.st_size} {status.st_mtime_ns}\n"
    # one folder per source folder, named by a digest of its path
    directory = os.path.join(cache_dir(), "idx", hashlib.sha256(
        os.path.dirname(source).encode()).hexdigest()[:16])
    target = os.path.join(directory, os.path.basename(source)[:-len(".gz")])
    try:
        with open(target + ".source") as f:
            if f.read() == stamp:
                return _map_idx(target)
    except (OSError, ValueError):   # no entry yet, or a damaged one: rebuild it
        pass
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as tmp:
            try:
                _gunzip(filename, tmp)
            except BaseException:
                tmp.close()
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, target)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False) as tmp:
            tmp.write(stamp)
        os.replace(tmp.name, target + ".source")
    except OSError:          # a read-only or full cache: do without it
        return read_idx(filename)
    return _map_idx(target, name=filename)


def _idx_path(directory, stem):
    """The gzipped or plain IDX file named ``stem`` in ``directory``, or None."""
    for name in (stem + ".gz", stem):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _has_files(directory):
    return all(_idx_path(directory, stem) is not None
               for pair in _FILES.values() for stem in pair)


def _idx_array(filename):
    """An IDX file memory-mapped: a plain one where it lies, a gzipped one from the cache."""
    return _cached_idx(filename) if filename.endswith(".gz") else _map_idx(filename)


def _read_pair(directory, subset):
    """Images (n, 784) and labels (n,), uint8 memory-mapped, of one subset, validated."""
    image_stem, label_stem = _FILES[subset]
    image_file = _idx_path(directory, image_stem)
    label_file = _idx_path(directory, label_stem)
    for stem, found in ((image_stem, image_file), (label_stem, label_file)):
        if found is None:
            raise FileNotFoundError(f"{os.path.join(directory, stem)}[.gz] not found")
    images = _idx_array(image_file)
    labels = _idx_array(label_file)
    if images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(f"{image_file}: expected images of shape (n, 28, 28), "
                         f"found {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{label_file}: expected a 1-D label array, found shape {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{label_file} holds {labels.shape[0]} labels but "
                         f"{image_file} holds {images.shape[0]} images")
    if labels.size and labels.max() >= _N_CLASSES:
        raise ValueError(f"{label_file}: label {labels.max()} is not in 0-9")
    return images.reshape(images.shape[0], -1), labels


def find_fashion_mnist(path=None):
    """The directory ``load_fashion_mnist`` reads, or None for the embedded subset.

    ``path`` and ``FASTBLAS_DATA`` are explicit requests: a directory named there
    without the four IDX files raises FileNotFoundError instead of falling back.
    """
    for origin, directory in (("path", path), (ENV_VAR, os.environ.get(ENV_VAR))):
        if directory:
            directory = os.fspath(directory)
            if not _has_files(directory):
                names = ", ".join(stem + "[.gz]" for pair in _FILES.values() for stem in pair)
                raise FileNotFoundError(f"{origin}={directory!r}: expected the Fashion-MNIST "
                                        f"IDX files there ({names})")
            return directory
    if _has_files(SYSTEM_DIR):
        return SYSTEM_DIR
    return None


def _read_embedded(subset):
    warnings.warn("Fashion-MNIST not found; using the small subset embedded in fastblas "
                  f"(500 training and 100 test images per class); {FULL_DATA_HINT}",
                  EmbeddedDataWarning, stacklevel=3)
    source = resources.files("fastblas") / "data" / EMBEDDED_FILE
    with source.open("rb") as f, np.load(f) as npz:
        return npz[f"X_{subset}"], npz[f"y_{subset}"]


def load_fashion_mnist(subset="train", path=None, dtype=np.float32, n_samples=None):
    """Fashion-MNIST images and labels.

    Parameters
    ----------
    subset : {"train", "test"}
    path : str or os.PathLike, optional
        Directory holding the four IDX files (gzipped or not). Default: the
        ``FASTBLAS_DATA`` environment variable, then ``/usr/share/datasets/fashion-mnist``,
        then the subset embedded in the package (with an ``EmbeddedDataWarning``).
    dtype : float32 or float64
    n_samples : int, optional
        Only the first ``n_samples`` images (all of them when there are fewer).
        Default: all.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), pixel intensities scaled to [0, 1]
    y : ndarray of shape (n_samples,), int64 labels 0-9

    Gzipped files are decompressed once into :func:`cache_dir` and memory-mapped
    from there, so that later loads read only the images asked for.
    """
    if subset not in _FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if n_samples is not None and (not isinstance(n_samples, numbers.Integral) or n_samples < 0):
        raise ValueError(f"n_samples must be None or a non-negative integer, got {n_samples!r}")
    directory = find_fashion_mnist(path)
    if directory is None:
        images, labels = _read_embedded(subset)
    else:
        images, labels = _read_pair(directory, subset)
    X = np.array(images[:n_samples], dtype=dtype)
    X /= 255
    return X, np.array(labels[:n_samples], dtype=np.int64)
