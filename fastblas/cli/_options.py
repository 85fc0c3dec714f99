"""Argument types, install hints, thread limits and output checks shared by the commands."""
import argparse
import contextlib
import os

# Hints that work whether fastblas came from a clone, an sdist or a wheel.
MATPLOTLIB_HINT = "needs matplotlib: pip install matplotlib"
SKLEARN_HINT = "needs scikit-learn: pip install scikit-learn"
THREADPOOLCTL_HINT = "needs threadpoolctl: pip install threadpoolctl"


class UsageError(Exception):
    """A bad option value found after parsing; reported like argparse's own errors."""


class DataError(Exception):
    """The training data could not be read."""


def load_data(path, n_train, n_test, dtype):
    """``fastblas._recipes.load_data``, its errors (missing or damaged files) as DataError."""
    from fastblas import _recipes
    try:
        return _recipes.load_data(path, n_train, n_test, dtype)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load Fashion-MNIST: {exc}") from exc


def _number(text, convert, accept, expected):
    """``convert(text)`` if ``accept`` takes it, else argparse's error naming ``expected``."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def positive_float(text):
    return _number(text, float, lambda v: v > 0, "a positive number")


def fraction(text):
    """A number in [0, 1), as momentum takes."""
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def layer_sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive layer sizes like 500 or 256,128, got {text!r}")
    return sizes


def add_data(parser):
    parser.add_argument("--data", metavar="DIR",
                        help="directory holding the four Fashion-MNIST IDX files "
                             "(default: $FASTBLAS_DATA, the Debian package, else the "
                             "subset embedded in fastblas)")


def add_threads(parser, default_text):
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help=f"BLAS threads ({default_text})")


def blas_threads(n):
    """A context capping the BLAS thread pools at ``n`` (None: leave them as they are)."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise UsageError(f"--threads {THREADPOOLCTL_HINT}") from None
    return threadpool_limits(limits=n, user_api="blas")


def check_plot_path(path):
    """Stop before any work when ``--plot PATH`` cannot be written."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(f"--plot {MATPLOTLIB_HINT}") from None
    check_output_path("--plot", path)
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    formats = Figure().canvas.get_supported_filetypes()
    if suffix not in formats:
        raise UsageError(f"--plot: expected a file name ending in one of "
                         f".{', .'.join(sorted(formats))}, got {path!r}")


def check_output_path(option, path):
    """Stop before any work when ``option PATH`` names no writable file."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option}: expected a file name, got the directory {path!r}")
    if not os.path.isdir(directory):
        raise UsageError(f"{option}: the directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(path)
                                             and not os.access(path, os.W_OK)):
        raise UsageError(f"{option}: cannot write {path!r} (permission denied)")
