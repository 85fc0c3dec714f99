"""``fastblas.show_config``: the BLAS fastblas calls, the kernel it runs, its threads."""
import os

__all__ = ["show_config"]

# The variable each BLAS reads for its thread count when the process starts.
_THREAD_VARIABLES = {"openblas": "OPENBLAS_NUM_THREADS", "mkl": "MKL_NUM_THREADS",
                     "blis": "BLIS_NUM_THREADS"}
_NAMES = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}
_THREADPOOLCTL_HINT = ("pip install threadpoolctl to see the running kernel and the "
                       "thread count")
# Printed when another BLAS is loaded and a pool runs several threads: after a
# multi-threaded call, OpenBLAS's threads spin for about 0.1 s before they sleep.
_TWO_POOLS_HINT = ("Products of these libraries in turn run beside the threads the other "
                   "left spinning\n(OpenBLAS's spin about 0.1 s after a call of several "
                   "threads): run loops that alternate them on one thread.")


def _library(pool):
    """The entry of one BLAS library of ``threadpoolctl.threadpool_info()``, renamed."""
    return {
        "library": pool["internal_api"],
        "version": pool.get("version"),
        "architecture": pool.get("architecture"),     # the kernel chosen at run time
        "num_threads": pool["num_threads"],
        "threading_layer": pool.get("threading_layer"),
        "filepath": pool["filepath"],
    }


def _is_scipys(filepath, scipy_dir):
    """Whether a loaded library belongs to SciPy: inside the scipy package, or in the
    ``scipy.libs`` folder beside it where SciPy's wheels keep their OpenBLAS."""
    path = os.path.realpath(filepath)
    folders = (scipy_dir, os.path.join(os.path.dirname(scipy_dir), "scipy.libs"))
    return any(path.startswith(folder + os.sep) for folder in folders)


def _blas_pools():
    """threadpoolctl's entries of the BLAS libraries loaded, or None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import scipy.linalg.cython_blas  # noqa: F401  (loaded, so that threadpoolctl sees it)
    return [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]


def _config():
    import scipy
    build = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    scipy_dir = os.path.dirname(os.path.realpath(scipy.__file__))
    pools = _blas_pools()
    blas = {"library": build.get("name"), "version": build.get("version"),
            "architecture": None, "num_threads": None, "threading_layer": None,
            "filepath": None}
    others = []
    if pools is not None:
        scipys = [pool for pool in pools if _is_scipys(pool["filepath"], scipy_dir)]
        if not scipys and len(pools) == 1:   # NumPy and SciPy share one system BLAS
            scipys = pools
        if scipys:
            blas = _library(scipys[0])
        others = [_library(pool) for pool in pools if pool not in scipys[:1]]
    blas["build_name"] = build.get("name")
    blas["build_configuration"] = build.get("openblas configuration")
    variable = _THREAD_VARIABLES.get(blas["library"], "OMP_NUM_THREADS")
    several_threads = any((library["num_threads"] or 1) > 1 for library in [blas] + others)
    return {
        "scipy_version": scipy.__version__,
        "blas": blas,
        "other_blas": others,
        "threads_hint": (f"set {variable}=N before Python starts, or in code:\n"
                         "    with threadpoolctl.threadpool_limits(limits=N, user_api='blas'): ..."
                         if pools is not None else _THREADPOOLCTL_HINT),
        "two_pools_hint": _TWO_POOLS_HINT if others and several_threads else None,
    }


def _describe(library, build_name=None):
    name = _NAMES.get(library["library"], library["library"])
    parts = [f"{name} {library['version']}" + (f" (SciPy's {build_name})" if build_name else "")]
    if library["architecture"]:
        parts.append(f"{library['architecture']} kernel")
    if library["num_threads"] is not None:
        parts.append(f"{library['num_threads']} thread{'s' * (library['num_threads'] != 1)}")
    return ", ".join(parts)


def show_config(mode="stdout"):
    """Print and return the BLAS library fastblas calls and how it runs here.

    fastblas calls SciPy's BLAS (``scipy.linalg.cython_blas``). The report names
    the library and its version, the kernel it chose for this CPU at run time
    (OpenBLAS's ``openblas_get_corename``, through threadpoolctl), its thread
    count, the other BLAS libraries loaded in the process (NumPy's wheels carry
    their own OpenBLAS) and how to change the thread count.

    Parameters
    ----------
    mode : {"stdout", "dicts"}, default="stdout"
        "stdout" prints the report and returns it; "dicts" only returns it. The
        report is a dict with the keys
        ``scipy_version``, ``blas`` (``library``, ``version``, ``architecture``,
        ``num_threads``, ``threading_layer``, ``filepath``, and SciPy's ``build_name`` and
        ``build_configuration``), ``other_blas`` (a list of the same, without the
        build fields), ``threads_hint`` and ``two_pools_hint`` (with another BLAS
        loaded and more than one thread: what products of the two libraries in
        turn cost, else None). The kernel and thread fields are None without
        threadpoolctl.

    Returns
    -------
    dict
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    config = _config()
    if mode == "dicts":
        return config
    from fastblas import __version__
    blas = config["blas"]
    print(f"fastblas {__version__} calls the BLAS of SciPy {config['scipy_version']} "
          "(scipy.linalg.cython_blas)")
    print(f"  BLAS:    {_describe(blas, blas['build_name'])}")
    if blas["filepath"]:
        print(f"  file:    {blas['filepath']}")
    for other in config["other_blas"]:
        print(f"  also loaded: {_describe(other)} ({other['filepath']})")
    if config["two_pools_hint"]:
        print(config["two_pools_hint"])
    print(f"To change the thread count: {config['threads_hint']}")
    return config
