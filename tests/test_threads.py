"""Thread safety: every routine called from many threads at once, fresh random
inputs per call, every result checked; the GIL is released around big BLAS work."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastblas
from conftest import (DTYPES, LEVEL1, LEVEL1_OUTPUTS, MATRIX_LAYOUTS,
                      OUTPUT_LAYOUTS, OUTPUT_MATRIX_LAYOUTS, VECTOR_LAYOUTS,
                      assert_sum_close, check_gemm, check_gemv, check_ger,
                      check_level1, f64, level1_dtypes)

N_THREADS = 8
ROUNDS = 8
ROUTINES = LEVEL1 + ["gemv", "ger", "gemm", "dot 2d"]


def one_checked_call(name, rng):
    """One call of `name` on fresh random inputs of random size and layout,
    checked against float64 NumPy (raises AssertionError when wrong)."""
    if name in LEVEL1:
        dtype = rng.choice(level1_dtypes(name))
        n = int(rng.choice([1, 2, 33, 1000, 20000]))
        layouts = {}
        for operand in ("x", "y"):
            choices = OUTPUT_LAYOUTS if operand in LEVEL1_OUTPUTS.get(name, ()) \
                else list(VECTOR_LAYOUTS)
            layouts[operand] = VECTOR_LAYOUTS[rng.choice(choices)]
        check_level1(name, rng, n, dtype, layouts["x"], layouts["y"])
        return
    dtype = DTYPES[rng.integers(2)]
    m, k, n = (int(v) for v in rng.choice([1, 7, 33, 64, 130], 3))
    if name == "gemv":
        check_gemv(rng, m, n, dtype, rng.choice(MATRIX_LAYOUTS), bool(rng.integers(2)),
                   rng.choice(["contiguous", "reversed2", "unaligned"]),
                   rng.choice([None, "contiguous", "stride3"]), alpha=1.5, beta=0.5)
    elif name == "ger":
        check_ger(rng, m, n, dtype, rng.choice(OUTPUT_MATRIX_LAYOUTS),
                  "reversed", "stride3", alpha=-0.5)
    elif name == "gemm":
        check_gemm(rng, m, k, n, dtype, rng.choice(MATRIX_LAYOUTS),
                   rng.choice(MATRIX_LAYOUTS), bool(rng.integers(2)),
                   bool(rng.integers(2)), alpha=2.0, beta=-1.0,
                   lc=rng.choice([None, "C", "F", "C_slice"]))
    else:  # fastblas.dot's 2-D fast paths
        A = rng.standard_normal((m, k)).astype(dtype)
        B = rng.standard_normal((k, n) if rng.integers(2) else (k,)).astype(dtype)
        r = fastblas.dot(A, B)
        assert type(r) is np.ndarray and r.dtype == dtype
        assert_sum_close(r, f64(A) @ f64(B), np.abs(f64(A)) @ np.abs(f64(B)), dtype,
                         k, "dot 2d")


def test_many_threads_at_once():
    start = threading.Barrier(N_THREADS)

    def worker(tid):
        rng = np.random.default_rng(1000 + tid)
        start.wait()
        calls = 0
        for _ in range(ROUNDS):
            for name in rng.permutation(ROUTINES):
                one_checked_call(str(name), rng)
                calls += 1
        return calls

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        futures = [pool.submit(worker, tid) for tid in range(N_THREADS)]
        counts = [f.result(timeout=300) for f in futures]  # re-raises failures
    assert counts == [ROUNDS * len(ROUTINES)] * N_THREADS


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_operands_shared_by_threads(dtype):
    """Read-only operands shared by all threads, one output per thread."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((200, 150)).astype(dtype)
    B = rng.standard_normal((150, 120)).astype(dtype)
    x = rng.standard_normal(150).astype(dtype)
    ref_gemm = f64(A) @ f64(B)
    ref_gemv = f64(A) @ f64(x)
    ref_dot = f64(x) @ f64(x)
    scale_gemm = np.abs(f64(A)) @ np.abs(f64(B))
    scale_gemv = np.abs(f64(A)) @ np.abs(f64(x))

    def worker(tid):
        C = np.empty((200, 120), dtype, order="F" if tid % 2 else "C")
        y = np.empty(200, dtype)
        for _ in range(10):
            fastblas.gemm(1.0, A, B, C=C)
            assert_sum_close(C, ref_gemm, scale_gemm, dtype, 150, "gemm")
            fastblas.gemv(1.0, A, x, y=y)
            assert_sum_close(y, ref_gemv, scale_gemv, dtype, 150, "gemv")
            assert_sum_close(fastblas.dot(x, x), ref_dot, ref_dot, dtype, 150, "dot")
            assert_sum_close(fastblas.nrm2(x), np.sqrt(ref_dot), np.sqrt(ref_dot),
                             dtype, 150, "nrm2")
        return True

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        assert all(pool.map(worker, range(N_THREADS), timeout=300))


def _max_main_thread_gap(call, reps):
    """Run call() reps times in a worker thread while this thread spins; return
    (longest pause of this thread, shortest duration of one call)."""
    done = threading.Event()
    durations = []

    def worker():
        for _ in range(reps):
            t0 = time.perf_counter()
            call()
            durations.append(time.perf_counter() - t0)
        done.set()

    thread = threading.Thread(target=worker)
    last = time.perf_counter()
    thread.start()
    max_gap = 0.0
    while not done.is_set():
        now = time.perf_counter()
        max_gap = max(max_gap, now - last)
        last = now
    thread.join()
    return max_gap, min(durations)


def test_gil_released_during_gemm():
    """While one thread runs a long gemm, another keeps running Python code.

    With the GIL held through the BLAS call the spinning thread would stall for
    a whole call; with it released it only pauses for OS scheduling. Several
    attempts, since the machine is shared and noisy."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1100, 1100))  # ~2.7 GFLOP: tens of ms on one core
    B = rng.standard_normal((1100, 1100))
    attempts = []
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        for _ in range(4):
            gap, call = _max_main_thread_gap(lambda: fastblas.gemm(1.0, A, B), reps=3)
            attempts.append((gap, call))
            if call > 0.02 and gap < 0.5 * call:
                return
    pytest.fail("the main thread stalled for most of each gemm call: GIL held? "
                f"(longest stall, shortest call) in s: {attempts}")


def test_chunked_path_from_threads(chunk_limit):
    """The chunked level-1 path (private limit lowered) from many threads at once."""
    chunk_limit(64)
    start = threading.Barrier(N_THREADS)

    def worker(tid):
        rng = np.random.default_rng(2000 + tid)
        start.wait()
        for _ in range(4):
            for name in rng.permutation(LEVEL1):
                check_level1(str(name), rng, int(rng.integers(1, 700)),
                             level1_dtypes(str(name))[-1], dict(stride=-2),
                             dict(stride=3, offset=1))
        return True

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        assert all(pool.map(worker, range(N_THREADS), timeout=300))
