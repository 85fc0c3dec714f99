"""What every fastblas.nn estimator shares: the seeding rule, the BLAS thread
choice, and the product its predictions use.

Seeding
-------
``make_generator(random_state)`` turns scikit-learn's ``random_state`` into the
one ``numpy.random.Generator`` a fit draws everything from:

- an int ``s`` gives ``numpy.random.default_rng(s)``;
- a ``numpy.random.RandomState`` gives ``default_rng(random_state.randint(2**31 - 1))``:
  one draw, so that consecutive fits sharing the RandomState differ, as in
  scikit-learn;
- None does the same with NumPy's global RandomState (``numpy.random.seed``
  makes it repeatable, as in scikit-learn).

The estimators draw their random numbers so that they do not depend on the
model's dtype: initial weights are drawn in float64 and rounded, and random
decisions compare integer draws with thresholds (exactly, whatever the dtype),
so that a float32 and a float64 model fitted with the same seed see the same
stream.

BLAS threads
------------
``choose_blas_threads(n_threads, products)`` gives the BLAS thread count of a
fit: an int forces that count; None chooses from the sizes of the fit's
matrix products and the cores this process may use now:

- one thread when the largest product has fewer than ``MIN_FLOPS_PER_THREAD``
  floating-point operations per thread (a second OpenBLAS thread does not speed
  up small products);
- otherwise one thread per ``MIN_FLOPS_PER_THREAD``, at most the number of idle
  usable cores: the CPUs in ``os.sched_getaffinity``, capped by the cgroup CPU
  quota, minus the threads of other processes (and other fits of this one)
  running at the moment of the choice (Linux: ``/proc/loadavg``, machine-wide).
  On a busy machine OpenBLAS's threads wait for each other and a fit can run
  ten times slower than on one thread;
- never more than the BLAS library is already limited to (``OPENBLAS_NUM_THREADS``,
  an enclosing ``threadpoolctl.threadpool_limits``);
- one thread for a fit that runs outside the main thread or while another fit
  of this process runs: the threads of joblib's threading backend
  (``GridSearchCV(n_jobs=k)`` under ``joblib.parallel_config(backend="threading")``)
  already keep the cores busy, one model each.

``blas_threads(count)`` is the context manager a fit runs in: threadpoolctl
limits the BLAS libraries to ``count`` threads, and the last of the fits
running at once restores them; ``describe_blas_threads`` words the count for
verbose output.

Predictions
-----------
``dot(a, b)`` is the product of the estimators' ``predict``, ``transform`` and
``score``: ``fastblas.dot``, SciPy's OpenBLAS, the one the fits use (scikit-learn's
``safe_sparse_dot`` for a sparse ``a``). NumPy loads an OpenBLAS of its own, and
an OpenBLAS's threads spin for a while after each multithreaded call (about 0.1 s),
so on a machine with few cores a NumPy product right after a fit, or a fit right
after a NumPy product, runs beside the other library's spinning threads. On 2
vCPUs of an Intel Xeon, 4 fits of scikit-learn's default MLP (2500 Fashion-MNIST
images, 8 epochs, 2 BLAS threads), each followed by its score on 2500 more, took
0.58-0.64 s to fit with NumPy's products in ``score``, 0.37-0.39 s with these
(1 BLAS thread: 0.46-0.53 s); medians of 6 rounds in two runs.
"""
import contextlib
import os
import threading

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

import fastblas

__all__ = ["make_generator", "usable_cores", "choose_blas_threads", "blas_threads",
           "dot", "MIN_FLOPS_PER_THREAD"]

# Each BLAS thread needs about this many flops (2 m n k) of the largest product.
# Measured with fastblas.gemm, float32, 1 against 2 OpenBLAS threads (SkylakeX
# kernels, 2 vCPUs of an AMD EPYC host, quiet): a 784-100 layer's products at
# batch 10 (1.6 MFLOP) gain nothing (1.01-1.04x); from 4-5 MFLOP (784-256 at
# batch 10, 784-100 at batch 32) 2 threads run 1.4-1.9x faster, and so on up to
# 314 MFLOP (1.6-1.9x). Whole epochs gain less and swing with the host: 784-100
# at batch 32 (5 MFLOP) ran 1.19-1.24x as fast on 2 threads in two runs and
# 0.48-0.71x in two others (an earlier Intel Xeon host: 1.00x), 784-100 at batch
# 200 1.03-1.30x, 784-500 at batch 100 1.15-1.42x. The RBM at batch 10, whose
# 8 MFLOP fused gradient is the one product the few-rows loops of fastblas.cyblas
# (one thread) leave to BLAS, ran 0.87-0.98x in four runs on 2 vCPUs of an Intel
# Xeon (1.02-1.38x before those loops). So 2 threads from 10 MFLOP; below, one
# thread also keeps small fits bit for bit the same whatever the load (1 and 2
# thread sgemm round differently). With the other core busy, 2 threads ran
# 0.5-0.9x as fast as one at every size: the idle-core count below decides then.
MIN_FLOPS_PER_THREAD = 5e6


def make_generator(random_state):
    """The numpy.random.Generator of a fit, from scikit-learn's ``random_state``."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


# ---------------------------------------------------------------------------
# Cores
# ---------------------------------------------------------------------------

def _cgroup_cpu_quota(root="/sys/fs/cgroup"):
    """Whole CPUs allowed by the cgroup's CPU bandwidth limit (v2 or v1), or None."""
    candidates = [(f"{root}/cpu.max", None),
                  (f"{root}/cpu/cpu.cfs_quota_us", f"{root}/cpu/cpu.cfs_period_us")]
    for quota_file, period_file in candidates:
        try:
            with open(quota_file) as f:
                fields = f.read().split()
            if period_file is not None:
                with open(period_file) as f:
                    fields.append(f.read().strip())
        except OSError:
            continue
        quota, period = fields[0], fields[1]
        if quota in ("max", "-1"):
            return None
        return max(1, int(int(quota) // int(period)))
    return None


def usable_cores():
    """The CPUs this process may run on: its affinity, capped by the cgroup quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return cores if quota is None else min(cores, quota)


def _running_threads_of_others():
    """Threads running now on this machine, other than this process's, or None.

    Linux: the running-task count of /proc/loadavg minus this process's threads in
    state R (OpenBLAS threads that just worked may still spin). Elsewhere: None.
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        tasks = os.listdir("/proc/self/task")
    except (OSError, ValueError, IndexError):
        return None
    own = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                own += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):   # the thread has ended
            continue
    return max(0, running - own)


# ---------------------------------------------------------------------------
# The choice and its scope
# ---------------------------------------------------------------------------

_lock = threading.Lock()
_running = []            # (fit, count) of the fits inside blas_threads(), by start
_limits_before = None    # the first running fit's limiter: the limits before it
_controller = None


def _threadpool_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller


def _current_blas_threads():
    """The BLAS libraries' current thread limit (the smallest, if several)."""
    blas = _threadpool_controller().select(user_api="blas").lib_controllers
    return min((lib.num_threads for lib in blas), default=1)


def choose_blas_threads(n_threads, products):
    """The BLAS thread count of a fit: ``n_threads`` if an int, else the automatic choice.

    ``products`` lists the (m, n, k) shapes of the fit's matrix products per
    batch; the largest decides. See the module docstring for the rule.
    """
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) \
                or n_threads < 1:
            raise ValueError(f"n_threads must be None or an int >= 1, got {n_threads!r}")
        return int(n_threads)
    flops = max((2.0 * m * n * k for m, n, k in products), default=0.0)
    wanted = min(int(flops // MIN_FLOPS_PER_THREAD), _current_blas_threads())
    if wanted <= 1:
        return 1
    with _lock:
        if _running or threading.current_thread() is not threading.main_thread():
            return 1
    busy = _running_threads_of_others() or 0
    return max(1, min(wanted, usable_cores() - busy))


def describe_blas_threads(count, n_threads):
    """How verbose output names the thread count of a fit: "2 BLAS threads
    (automatic)" when ``n_threads`` is None, "1 BLAS thread" when forced."""
    return (f"{count} BLAS thread{'s' if count > 1 else ''}"
            + (" (automatic)" if n_threads is None else ""))


@contextlib.contextmanager
def blas_threads(count):
    """Run the block (a fit) with the BLAS libraries limited to ``count`` threads
    (threadpoolctl, as scikit-learn's KMeans limits its loops).

    The limit is process-wide, and fits overlap in joblib's threads (or nest, in
    a callback), so the fits running at once share one scope: each sets the limit
    to its count as it starts; when one ends, the latest still running sets its
    own again, and the last to end restores the limits from before the first.
    (Each restoring what it found would give a fit still running the limits from
    before both, and leave the process at the last limit found.)
    """
    global _limits_before
    fit = (object(), count)
    with _lock:
        limiter = _limit_blas(count)
        if not _running:
            _limits_before = limiter
        _running.append(fit)
    try:
        yield count
    finally:
        with _lock:
            _running.remove(fit)
            if _running:
                _limit_blas(_running[-1][1])
            else:
                _limits_before.restore_original_limits()
                _release_blas_control()
                _limits_before = None


def _limit_blas(count):
    """Limit the BLAS libraries to ``count`` threads; returns threadpoolctl's
    limiter, whose restore_original_limits() gives back the limits before."""
    limiter = _threadpool_controller().limit(limits=count, user_api="blas")
    _release_blas_control()
    return limiter


def _release_blas_control():
    """Let other threads make the next change of the BLAS limits. threadpoolctl
    >= 3.8 gives the thread that changes OpenBLAS's limit the control of it
    (other threads' changes do nothing) until its ``with`` block ends; fits start
    and end in any of joblib's threads, and the last to end must restore the
    limits. Another thread holding them in its own ``with threadpool_limits``
    block keeps them (this thread's changes do nothing then)."""
    from threadpoolctl import OpenBLASController
    release = getattr(OpenBLASController, "clear_controlling_thread", None)
    if release is not None:
        release()           # only if this thread holds the control


def dot(a, b):
    """``a @ b`` (a dense result) through the BLAS the fits use; see the module docstring."""
    if sp.issparse(a):
        return safe_sparse_dot(a, b, dense_output=True)
    return fastblas.dot(a, b)
