"""fastblas.nn._common: the seeding rule and the BLAS thread choice."""
import threading

import numpy as np
import pytest

pytest.importorskip("sklearn")
threadpoolctl = pytest.importorskip("threadpoolctl")

from fastblas.nn import BernoulliRBM, _common  # noqa: E402


def blas_thread_counts():
    return {lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"}


def test_int_seed_is_default_rng():
    a = _common.make_generator(42).random(5)
    np.testing.assert_array_equal(a, np.random.default_rng(42).random(5))
    np.testing.assert_array_equal(_common.make_generator(np.int64(42)).random(5), a)


def test_random_state_instance_gives_one_draw():
    rs = np.random.RandomState(3)
    first = _common.make_generator(rs).random(4)
    second = _common.make_generator(rs).random(4)
    assert not np.array_equal(first, second)   # consecutive fits differ
    seed = np.random.RandomState(3).randint(2**31 - 1)
    np.testing.assert_array_equal(first, np.random.default_rng(seed).random(4))


def test_none_follows_numpy_global_seed():
    np.random.seed(5)
    a = _common.make_generator(None).random(3)
    np.random.seed(5)
    np.testing.assert_array_equal(_common.make_generator(None).random(3), a)


@pytest.mark.parametrize("forced", [1, 2, 3, np.int32(2)])
def test_int_forces_the_count(forced):
    assert _common.choose_blas_threads(forced, [(10, 10, 10)]) == forced


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_n_threads_named(bad):
    with pytest.raises(ValueError, match="n_threads"):
        _common.choose_blas_threads(bad, [(10, 10, 10)])


def test_small_products_get_one_thread():
    # a 784-100 layer at batch 10: 1.6 MFLOP, under two threads' worth
    assert 2 * 10 * 100 * 784 < 2 * _common.MIN_FLOPS_PER_THREAD
    assert _common.choose_blas_threads(None, [(10, 100, 784), (784, 100, 10)]) == 1
    assert _common.choose_blas_threads(None, []) == 1


def test_the_default_rbm_gets_one_thread():
    """scikit-learn's default RBM on 784 pixels: 4 MFLOP products at minibatch 10
    and an 8 MFLOP fused gradient, which 2 threads did not speed up."""
    rbm = BernoulliRBM(n_iter=1, random_state=0).fit(np.zeros((10, 784), np.float32))
    assert rbm.n_threads_ == 1


def test_large_products_within_the_usable_cores():
    count = _common.choose_blas_threads(None, [(2000, 2000, 2000)])
    assert 1 <= count <= _common.usable_cores() <= (os_cpu_count() or 1)


def test_automatic_choice_respects_an_enclosing_limit():
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        assert _common.choose_blas_threads(None, [(2000, 2000, 2000)]) == 1


def os_cpu_count():
    import os
    return os.cpu_count()


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "150000 100000\n"}, 1),
    ({"cpu.max": "400000 100000\n"}, 4),
    ({"cpu.max": "50000 100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
    ({}, None),
])
def test_cgroup_quota(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _common._cgroup_cpu_quota(str(tmp_path)) == expected


def test_blas_threads_scoped_and_restored():
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_thread_counts()
        with _common.blas_threads(1) as count:
            assert count == 1
            assert blas_thread_counts() == {1}
        assert blas_thread_counts() == before


def test_a_fit_that_ends_hands_the_limit_back_to_the_latest_still_running():
    # a fit nested in another's callback, on the same thread
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        with _common.blas_threads(2):
            with _common.blas_threads(1):
                inner = blas_thread_counts()
            outer_after_inner = blas_thread_counts()
        after = blas_thread_counts()
    assert (inner, outer_after_inner, after) == ({1}, {2}, {1})


def test_overlapping_fits_in_threads_share_one_limit_restored_by_the_last():
    # As joblib's threading backend runs them: the first fit ends while the
    # second runs. The second must keep its limit, and the limits from before
    # both come back only when it ends (each fit restoring what it found gave
    # the second 2 threads, and left the process at 1 for good).
    events = {name: threading.Event()
              for name in ("first in", "first out", "go", "second out")}
    seen = {}

    def first_fit():
        with _common.blas_threads(1):
            events["first in"].set()
            events["go"].wait(10)
        events["first out"].set()
        events["second out"].wait(10)   # alive, as a pool's thread stays

    def second_fit():
        events["first in"].wait(10)
        with _common.blas_threads(1):
            seen["both running"] = blas_thread_counts()
            events["go"].set()
            events["first out"].wait(10)
            seen["first ended"] = blas_thread_counts()
        events["second out"].set()

    # 2 threads before the fits, set by this (the main) thread, which then lets
    # other threads change the limit (threadpoolctl >= 3.8 keeps it to one)
    release = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread",
                      lambda: None)
    before = threadpoolctl.threadpool_limits(limits=2, user_api="blas")
    release()
    try:
        threads = [threading.Thread(target=fit) for fit in (first_fit, second_fit)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        seen["both ended"] = blas_thread_counts()
    finally:
        before.restore_original_limits()
        release()
    assert seen == {"both running": {1}, "first ended": {1}, "both ended": {2}}


def test_fits_in_threads_leave_the_limit_to_an_enclosing_threadpool_limits():
    # threadpoolctl's pattern for thread pools: the main thread limits them all.
    # From threadpoolctl 3.8 that block keeps the control of OpenBLAS's limit,
    # so a fit in a thread cannot raise it; before, it could, while it ran.
    seen = []

    def fit():
        with _common.blas_threads(2):
            seen.append(blas_thread_counts())

    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        worker = threading.Thread(target=fit)
        worker.start()
        worker.join(20)
        seen.append(blas_thread_counts())
    kept = hasattr(threadpoolctl.OpenBLASController, "clear_controlling_thread")
    assert seen == [{1} if kept else {2}, {1}]


def test_concurrent_or_threaded_fits_choose_one_thread():
    big = [(4000, 4000, 4000)]
    inside, release = threading.Event(), threading.Event()
    from_thread = []

    def other_fit():
        from_thread.append(_common.choose_blas_threads(None, big))
        with _common.blas_threads(1):
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other_fit)
    worker.start()
    try:
        assert inside.wait(10)
        assert _common.choose_blas_threads(None, big) == 1   # another fit runs
    finally:
        release.set()
        worker.join()
    assert from_thread == [1]                                # not the main thread
