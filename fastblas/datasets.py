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
import os
import warnings
from importlib import resources

import numpy as np

__all__ = ["load_fashion_mnist", "find_fashion_mnist", "read_idx", "EmbeddedDataWarning"]

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


def read_idx(filename):
    """Read one IDX file (gzipped when the name ends in ``.gz``) as a uint8 array.

    IDX layout: two zero bytes, the element type (0x08 = unsigned byte), the number
    of dimensions d, then d big-endian uint32 sizes, then the elements in C order.
    Raises ValueError naming the file when the header is invalid or the data is
    shorter or longer than the header says.
    """
    filename = os.fspath(filename)
    opener = gzip.open if filename.endswith(".gz") else open
    try:
        with opener(filename, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:   # gzip.BadGzipFile is an OSError
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{filename}: cannot read ({exc}); the file is corrupt "
                         "or truncated") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{filename}: not an IDX file (bad magic number)")
    if raw[2] != _UBYTE:
        raise ValueError(f"{filename}: IDX element type 0x{raw[2]:02x} is not "
                         "supported (expected 0x08, unsigned byte)")
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"{filename}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(raw) - header_len
    if actual != expected:
        kind = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(f"{filename}: {kind}: header says shape {shape} "
                         f"({expected} bytes of data), found {actual}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


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


def _read_pair(directory, subset):
    """Images (n, 784) uint8 and labels (n,) uint8 of one subset, validated."""
    image_stem, label_stem = _FILES[subset]
    image_file = _idx_path(directory, image_stem)
    label_file = _idx_path(directory, label_stem)
    for stem, found in ((image_stem, image_file), (label_stem, label_file)):
        if found is None:
            raise FileNotFoundError(f"{os.path.join(directory, stem)}[.gz] not found")
    images = read_idx(image_file)
    labels = read_idx(label_file)
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
                  EmbeddedDataWarning, stacklevel=2)
    source = resources.files("fastblas") / "data" / EMBEDDED_FILE
    with source.open("rb") as f, np.load(f) as npz:
        return npz[f"X_{subset}"], npz[f"y_{subset}"]


def load_fashion_mnist(subset="train", path=None, dtype=np.float32):
    """Fashion-MNIST images and labels.

    Parameters
    ----------
    subset : {"train", "test"}
    path : str or os.PathLike, optional
        Directory holding the four IDX files (gzipped or not). Default: the
        ``FASTBLAS_DATA`` environment variable, then ``/usr/share/datasets/fashion-mnist``,
        then the subset embedded in the package (with an ``EmbeddedDataWarning``).
    dtype : float32 or float64

    Returns
    -------
    X : ndarray of shape (n_samples, 784), pixel intensities scaled to [0, 1]
    y : ndarray of shape (n_samples,), int64 labels 0-9
    """
    if subset not in _FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    directory = find_fashion_mnist(path)
    if directory is None:
        images, labels = _read_embedded(subset)
    else:
        images, labels = _read_pair(directory, subset)
    X = images.astype(dtype)
    X /= 255
    return X, labels.astype(np.int64)
