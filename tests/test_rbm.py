"""fastblas.nn.BernoulliRBM: the nogil CD-k loop against a plain NumPy CD-k, learning,
scikit-learn conventions, bad input, threads, Ctrl-C."""
import contextlib
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse
from scipy.special import expit

pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import BernoulliRBM as SklearnRBM  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastblas.nn import BernoulliRBM  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

TOL = {np.float32: dict(rtol=2e-4, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-13)}


# ---------------------------------------------------------------------------
# The reference: one CD-k update in plain NumPy, drawing the same uniforms in the
# order documented in src/_rbm.pyx.tp.
# ---------------------------------------------------------------------------

def reference_generator(seed):
    """The Generator BernoulliRBM derives from an int random_state."""
    return np.random.default_rng(seed)


def sample(rng, p):
    """The loop's Bernoulli draws: a 32-bit integer r per unit, the two halves of
    each 64-bit draw, low first; 1 when r < p * 2**32."""
    raw = rng.bit_generator.random_raw((p.size + 1) // 2)
    halves = np.stack([raw & 0xFFFFFFFF, raw >> 32], axis=1).ravel()
    return halves[:p.size].reshape(p.shape) < np.ldexp(p, 32)


def reference_update(model, v0, chains, rng, lr, momentum, weight_decay, k, persistent):
    """One CD-k (or PCD-k) update of ``model`` (a dict of arrays) in place."""
    W, a, b = model["W"], model["a"], model["b"]            # W: (n_components, n_features)
    dtype = W.dtype
    m = v0.shape[0]
    c = chains.shape[0] if persistent else m
    h0 = expit(v0 @ W.T + b)
    if not persistent:
        chains[:m] = sample(rng, h0)
    for t in range(1, k + 1):
        pv = expit(chains[:c] @ W + a)
        vk = sample(rng, pv).astype(dtype)
        hk = expit(vk @ W.T + b)
        if t < k or persistent:
            chains[:c] = sample(rng, hk)
    grads = {"W": h0.T @ v0 / m - hk.T @ vk / c - weight_decay * W,
             "b": h0.mean(axis=0) - hk.mean(axis=0),
             "a": v0.mean(axis=0) - vk.mean(axis=0)}
    for name, grad in grads.items():
        if momentum:
            model["vel_" + name] = momentum * model["vel_" + name] + lr * grad
            model[name] += model["vel_" + name]
        else:
            model[name] += lr * grad


def reference_fit(X, seed, n_components, batch_size, n_iter, lr=0.1, momentum=0.0,
                  weight_decay=0.0, cd_k=1, persistent=True):
    dtype = X.dtype
    rng = reference_generator(seed)
    n_samples, n_features = X.shape
    model = {"W": rng.normal(0, 0.01, (n_components, n_features)).astype(dtype),
             "a": np.zeros(n_features, dtype), "b": np.zeros(n_components, dtype)}
    for name in "Wab":
        model["vel_" + name] = np.zeros_like(model[name])
    chains = np.zeros((batch_size, n_components), dtype)
    for _ in range(n_iter):
        for start in range(0, n_samples, batch_size):
            reference_update(model, X[start:start + batch_size], chains, rng, lr,
                             momentum, weight_decay, cd_k, persistent)
    return model, chains


def binary_data(rng, n_samples, n_features, dtype):
    return (rng.random((n_samples, n_features)) < 0.3).astype(dtype)


def assert_model_equal(est, model, chains, dtype):
    np.testing.assert_array_equal(est.h_samples_, chains)
    np.testing.assert_allclose(est.components_, model["W"], **TOL[dtype])
    np.testing.assert_allclose(est.intercept_hidden_, model["b"], **TOL[dtype])
    np.testing.assert_allclose(est.intercept_visible_, model["a"], **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cd_k", [1, 3])
@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 1e-3), (0.0, 1e-2)])
def test_fit_matches_numpy_cd(dtype, cd_k, persistent, momentum, weight_decay):
    # 25 samples in batches of 10: the last batch is smaller than the chain count.
    X = binary_data(np.random.default_rng(1), 25, 17, dtype)
    params = dict(n_components=7, batch_size=10, n_iter=2, learning_rate=0.2,
                  momentum=momentum, weight_decay=weight_decay, cd_k=cd_k,
                  persistent=persistent)
    est = BernoulliRBM(random_state=3, **params).fit(X)
    model, chains = reference_fit(X, 3, 7, 10, 2, 0.2, momentum, weight_decay, cd_k,
                                  persistent)
    assert est.components_.dtype == dtype
    assert_model_equal(est, model, chains, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("persistent", [True, False])
def test_partial_fit_matches_numpy_cd(dtype, persistent):
    # partial_fit takes all of X as one minibatch, here larger than batch_size.
    X = binary_data(np.random.default_rng(2), 14, 9, dtype)
    est = BernoulliRBM(n_components=5, batch_size=4, random_state=0, persistent=persistent,
                       cd_k=2, momentum=0.5)
    rng = reference_generator(0)
    model = {"W": rng.normal(0, 0.01, (5, 9)).astype(dtype),
             "a": np.zeros(9, dtype), "b": np.zeros(5, dtype)}
    for name in "Wab":
        model["vel_" + name] = np.zeros_like(model[name])
    chains = np.zeros((4 if persistent else 14, 5), dtype)
    for _ in range(3):
        est.partial_fit(X)
        reference_update(model, X, chains, rng, 0.1, 0.5, 0.0, 2, persistent)
    assert_model_equal(est, model, chains[:4], dtype)


# ---------------------------------------------------------------------------
# Learning
# ---------------------------------------------------------------------------

def one_blas_thread():
    """Tiny gemms on a shared machine run far faster on one BLAS thread."""
    if threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fashion_mnist_sample(n_train=3000, n_test=1000):
    """A random sample of Fashion-MNIST (the embedded subset when the full data is absent)."""
    datasets = pytest.importorskip("fastblas.datasets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # EmbeddedDataWarning
        X_train, y_train = datasets.load_fashion_mnist("train")
        X_test, y_test = datasets.load_fashion_mnist("test")
    pick = np.random.default_rng(0)
    train = pick.choice(len(X_train), n_train, replace=False)
    test = pick.choice(len(X_test), n_test, replace=False)
    return X_train[train], y_train[train], X_test[test], y_test[test]


def test_learns_fashion_mnist_features():
    X_train, y_train, X_test, y_test = fashion_mnist_sample()
    history = []

    def record(epoch, model):
        recon = model._mean_visibles(model.transform(X_test))
        history.append((np.mean((recon - X_test) ** 2), model.score_samples(X_test).mean()))

    # Over random_state 0-3 the learned features scored -0.4 to +0.9 points against
    # raw pixels, on the full data and on the embedded subset alike.
    rbm = BernoulliRBM(n_components=256, learning_rate=0.05, batch_size=10, n_iter=15,
                       momentum=0.5, persistent=False, random_state=0, callback=record)
    classifier = dict(max_iter=200, C=1.0)
    with one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # lbfgs may stop at max_iter
        rbm.fit(X_train)
        raw = LogisticRegression(**classifier).fit(X_train, y_train).score(X_test, y_test)
        learned = LogisticRegression(**classifier).fit(
            rbm.transform(X_train), y_train).score(rbm.transform(X_test), y_test)
    errors, likelihoods = np.array(history).T
    assert len(history) == 15
    assert errors[-1] < 0.8 * errors[0], errors
    assert likelihoods[-1] > likelihoods[0], likelihoods
    assert learned >= raw - 0.01, (learned, raw)


# ---------------------------------------------------------------------------
# scikit-learn conventions
# ---------------------------------------------------------------------------

def _expected_failures(estimator):
    # The same two as scikit-learn's BernoulliRBM: score_samples flips random features.
    return {
        "check_methods_subset_invariance": "score_samples is random per call",
        "check_methods_sample_order_invariance": "score_samples is random per call",
    }


@parametrize_with_checks([BernoulliRBM(n_iter=5, batch_size=10)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_same_seed_same_model_and_dtype_parameter():
    X = binary_data(np.random.default_rng(4), 60, 12, np.float64)
    a = BernoulliRBM(n_components=6, random_state=7, n_iter=3).fit(X)
    b = BernoulliRBM(n_components=6, random_state=7, n_iter=3).fit(X)
    c = BernoulliRBM(n_components=6, random_state=8, n_iter=3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert not np.allclose(a.components_, c.components_)
    f32 = BernoulliRBM(n_components=6, random_state=7, n_iter=3, dtype="float32").fit(X)
    assert f32.components_.dtype == np.float32 and f32.h_samples_.dtype == np.float32
    assert f32.transform(X.astype(np.float32)).dtype == np.float32
    for dtype in (np.float64, "float64", np.dtype("float64")):
        assert BernoulliRBM(n_components=2, dtype=dtype, n_iter=1).fit(
            X.astype(np.float32)).components_.dtype == np.float64


@pytest.mark.parametrize("params", [
    dict(),                                                          # scikit-learn's PCD
    dict(momentum=0.9, persistent=False, batch_size=100),            # classic CD-1
    dict(cd_k=2, weight_decay=1e-3, momentum=0.5),
])
def test_float32_and_float64_fits_agree(params):
    # One seed, one random stream: the two dtypes differ by rounding only (here
    # about 1e-6 after 3 epochs; a float32 stream of its own gave 0.07).
    X = load_digits().data / 16.0
    models = [BernoulliRBM(n_components=64, n_iter=3, random_state=0, dtype=dtype,
                           **params).fit(X) for dtype in ("float32", "float64")]
    with one_blas_thread():
        np.testing.assert_array_equal(models[0].h_samples_, models[1].h_samples_)
        np.testing.assert_allclose(models[0].transform(X), models[1].transform(X),
                                   rtol=0, atol=2e-5)
        np.testing.assert_allclose(models[0].components_, models[1].components_,
                                   rtol=0, atol=2e-5)


@pytest.mark.parametrize("model_dtype, X_dtype, sparse", [
    (np.float32, np.float32, False), (np.float64, np.float64, False),
    (np.float32, np.float64, False), (np.float64, np.float32, True)])
def test_inference_against_numpy_in_float64(model_dtype, X_dtype, sparse):
    # transform, the visible means and the free energy (score_samples'), from the
    # fitted parameters in float64 NumPy
    rng = np.random.default_rng(12)
    rbm = BernoulliRBM(n_components=7, n_iter=2, random_state=0, dtype=model_dtype).fit(
        binary_data(rng, 50, 11, np.float64))
    W, a, b = (np.asarray(p, np.float64) for p in (
        rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    X = binary_data(rng, 13, 11, X_dtype)
    H = rng.random((13, 7)).astype(X_dtype)
    Xin = scipy.sparse.csr_matrix(X) if sparse else X
    tol = (dict(rtol=1e-5, atol=1e-6) if np.result_type(model_dtype, X_dtype) == np.float32
           else dict(rtol=1e-12))
    np.testing.assert_allclose(rbm.transform(Xin), expit(X @ W.T + b), **tol)
    np.testing.assert_allclose(rbm._mean_visibles(H), expit(H @ W + a), **tol)
    free_energy = -X @ a - np.logaddexp(0, X @ W.T + b).sum(axis=1)
    np.testing.assert_allclose(rbm._free_energy(Xin), free_energy, **tol)


def test_pickle_round_trip_and_resume():
    X = binary_data(np.random.default_rng(5), 40, 10, np.float32)
    rbm = BernoulliRBM(n_components=5, random_state=0, n_iter=2, momentum=0.9).fit(X)
    clone = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(clone.transform(X), rbm.transform(X))
    # The generator and the momentum velocities travel too: both continue alike.
    rbm.partial_fit(X)
    clone.partial_fit(X)
    np.testing.assert_array_equal(clone.components_, rbm.components_)


def test_pipeline_and_grid_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    pipe = Pipeline([("rbm", BernoulliRBM(n_iter=10, random_state=0, learning_rate=0.05)),
                     ("clf", LogisticRegression(max_iter=2000, C=100.0))])
    with one_blas_thread():
        search = GridSearchCV(pipe, {"rbm__n_components": [32, 64]}, cv=2).fit(X, y)
    assert search.best_params_["rbm__n_components"] in (32, 64)
    assert search.best_score_ > 0.6   # scikit-learn's BernoulliRBM: 0.61 and 0.78


def test_callback_and_verbose(capsys):
    X = binary_data(np.random.default_rng(6), 30, 8, np.float64)
    seen = []
    BernoulliRBM(n_components=4, n_iter=3, verbose=1, random_state=0,
                 callback=lambda epoch, model: seen.append(
                     (epoch, model.transform(X).shape))).fit(X)
    assert seen == [(1, (30, 4)), (2, (30, 4)), (3, (30, 4))]
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert out[0].startswith("[BernoulliRBM] Iteration 1, pseudo-likelihood = ")
    assert out[0].endswith(" samples/s, 1 BLAS thread (automatic)")   # tiny products
    forced = BernoulliRBM(n_components=4, n_iter=1, verbose=1, n_threads=2).fit(X)
    assert capsys.readouterr().out.strip().endswith(" samples/s, 2 BLAS threads")
    assert forced.n_threads_ == 2
    assert forced.partial_fit(X).n_threads_ == 2
    assert BernoulliRBM(n_components=4, n_iter=1).fit(X).n_threads_ == 1


# ---------------------------------------------------------------------------
# Bad input: the same behaviour as scikit-learn's BernoulliRBM
# ---------------------------------------------------------------------------

BAD_FIT_INPUTS = {
    "nan": np.array([[0.0, np.nan], [1.0, 0.0]]),
    "inf": np.array([[0.0, np.inf], [1.0, 0.0]]),
    "empty": np.zeros((0, 3)),
    "no features": np.zeros((3, 0)),
    "1-D": np.zeros(4),
    "3-D": np.zeros((2, 2, 2)),
    "strings": np.array([["a", "b"], ["c", "d"]]),
}


@pytest.mark.parametrize("name", BAD_FIT_INPUTS)
def test_bad_fit_input_like_sklearn(name):
    X = BAD_FIT_INPUTS[name]
    with pytest.raises(Exception) as expected:
        SklearnRBM(n_components=2).fit(X)
    with pytest.raises(type(expected.value)):
        BernoulliRBM(n_components=2).fit(X)


def test_wrong_feature_count_at_transform():
    X = binary_data(np.random.default_rng(7), 20, 6, np.float64)
    ours = BernoulliRBM(n_components=3, n_iter=1).fit(X)
    theirs = SklearnRBM(n_components=3, n_iter=1).fit(X)
    for est in (ours, theirs):
        with pytest.raises(ValueError, match="features"):
            est.transform(X[:, :5])
        with pytest.raises(ValueError, match="features"):
            est.score_samples(X[:, :5])


def test_int_and_out_of_range_input_like_sklearn():
    X_int = np.random.default_rng(8).integers(0, 2, size=(20, 5))
    ours = BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X_int)
    theirs = SklearnRBM(n_components=3, n_iter=2, random_state=0).fit(X_int)
    assert ours.components_.dtype == theirs.components_.dtype == np.float64
    # scikit-learn does not check the [0, 1] range; neither crash nor go non-finite.
    X_wide = np.random.default_rng(9).normal(0, 3, size=(20, 5))
    ours = BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X_wide)
    SklearnRBM(n_components=3, n_iter=2, random_state=0).fit(X_wide)
    assert np.isfinite(ours.components_).all()
    assert np.isfinite(ours.transform(X_wide)).all()


def test_bad_parameters_rejected():
    X = binary_data(np.random.default_rng(10), 10, 4, np.float64)
    for params in [dict(momentum=1.0), dict(cd_k=0), dict(weight_decay=-1.0),
                   dict(dtype="int32"), dict(batch_size=0), dict(callback=3)]:
        with pytest.raises(ValueError, match=next(iter(params))):
            BernoulliRBM(**params).fit(X)


def engine_arguments(dtype=np.float64):
    """Arguments of a valid 6-feature, 3-unit, 4-chain engine (momentum 0.5, PCD)."""
    zeros = lambda *shape: np.zeros(shape, dtype=dtype)   # noqa: E731
    return dict(weights=zeros(6, 3), hidden_bias=zeros(3), visible_bias=zeros(6),
                chains=zeros(4, 3), velocities=(zeros(6, 3), zeros(3), zeros(6)),
                generator=np.random.default_rng(0), learning_rate=0.1, momentum=0.5,
                weight_decay=0.0, cd_k=1, persistent=True, max_batch_rows=4)


@pytest.mark.parametrize("change, error, match", [
    (dict(weights=np.zeros((6, 3), np.float32)), ValueError, "weights must be a float64"),
    (dict(hidden_bias=np.zeros(4)), ValueError, "hidden_bias must be a float64 array of shape"),
    (dict(chains=np.zeros((4, 3))[:, ::-1]), ValueError, "chains must be C-contiguous"),
    (dict(visible_bias=[0.0] * 6), TypeError, "visible_bias must be a numpy array"),
    (dict(velocities=None), ValueError, "velocities"),
    (dict(generator=np.random.RandomState(0)), TypeError, "numpy.random.Generator"),
    (dict(cd_k=0), ValueError, "cd_k"),
    (dict(max_batch_rows=2**31), ValueError, "32-bit BLAS integer"),
    (dict(persistent=False, max_batch_rows=5), ValueError, "max_batch_rows"),
])
def test_engine_rejects_bad_arguments_by_name(change, error, match):
    from fastblas import _rbm
    with pytest.raises(error, match=match):
        _rbm.TRAINERS[np.dtype(np.float64)](**{**engine_arguments(), **change})


def test_engine_never_writes_read_only_parameters_or_reads_past_x():
    from fastblas import _rbm
    args = engine_arguments()
    args["weights"].flags.writeable = False
    with pytest.raises(ValueError, match="weights must be writeable"):
        _rbm.TRAINERS[np.dtype(np.float64)](**args)
    trainer = _rbm.TRAINERS[np.dtype(np.float64)](**engine_arguments())
    X = np.zeros((8, 6))
    for bounds in ([0, 5], [0, 4, 9], [-1, 3], [2, 2]):     # too long, past X, before X, empty
        with pytest.raises(ValueError, match="batch_bounds"):
            trainer.epoch(X, np.array(bounds, dtype=np.intp))
    with pytest.raises(ValueError, match="X must be a float64 array"):
        trainer.epoch(X.astype(np.float32), np.array([0, 4], dtype=np.intp))


def test_partial_fit_after_batch_size_change():
    X = binary_data(np.random.default_rng(15), 12, 5, np.float64)
    rbm = BernoulliRBM(n_components=3, batch_size=6, n_iter=1, random_state=0).fit(X)
    rbm.set_params(batch_size=2).partial_fit(X)   # the persistent chains keep their 6 rows
    assert rbm.h_samples_.shape == (6, 3) and np.isfinite(rbm.components_).all()


def test_read_only_input_and_parameters():
    X = binary_data(np.random.default_rng(11), 20, 6, np.float64)
    X.flags.writeable = False
    rbm = BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(X)
    rbm.components_ = np.ascontiguousarray(rbm.components_)
    rbm.components_.flags.writeable = False
    frozen = rbm.components_.copy()
    rbm.partial_fit(X)
    np.testing.assert_array_equal(rbm.components_.shape, frozen.shape)
    assert not np.array_equal(rbm.components_, frozen)


# ---------------------------------------------------------------------------
# Threads and Ctrl-C
# ---------------------------------------------------------------------------

def test_interrupt_in_callback_keeps_complete_epochs():
    X = binary_data(np.random.default_rng(13), 50, 8, np.float64)

    def stop_after_two(epoch, model):
        if epoch == 2:
            raise KeyboardInterrupt

    params = dict(n_components=4, random_state=0)
    with pytest.warns(UserWarning, match="interrupted"):
        stopped = BernoulliRBM(n_iter=5, callback=stop_after_two, **params).fit(X)
    two = BernoulliRBM(n_iter=2, **params).fit(X)
    np.testing.assert_array_equal(stopped.components_, two.components_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ctrl_c_answered_promptly(dtype):
    # SIGINT sent once the first epoch is done, so that it lands inside the nogil
    # loop; the fit returns the model of the last complete update, with a warning.
    X = binary_data(np.random.default_rng(14), 2000, 200, dtype)
    sent = []

    def send_sigint():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timers = []

    def arm(epoch, model):
        if epoch == 1:
            timers.append(threading.Timer(0.1, send_sigint))
            timers[0].start()

    rbm = BernoulliRBM(n_components=100, n_iter=100_000, random_state=0, callback=arm,
                       n_threads=1)
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            rbm.fit(X)
        returned = time.perf_counter()
    finally:
        for timer in timers:
            timer.cancel()
    assert len(sent) == 1
    # The loop checks every 50 ms; a busy machine may delay the main thread.
    assert returned - sent[0] < (1.0 if os.environ.get("CI") else 0.25)
    assert np.isfinite(rbm.components_).all()
    assert rbm.transform(X).shape == (2000, 100)




@pytest.mark.parametrize("params", [dict(), dict(momentum=0.9, persistent=False, cd_k=2)])
def test_warm_start_fit_continues_where_the_last_fit_stopped(params):
    # fit(n_iter=1) three times with warm_start is the same model, to the bit, as
    # one fit of 3 epochs: weights, chains, momentum and random stream carry over
    X = binary_data(np.random.default_rng(15), 120, 20, np.float32)
    params = dict(n_components=8, batch_size=16, random_state=3, **params)
    three = BernoulliRBM(n_iter=3, **params).fit(X)
    warm = BernoulliRBM(n_iter=1, warm_start=True, **params)
    for _ in range(3):
        warm.fit(X)
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        np.testing.assert_array_equal(getattr(warm, name), getattr(three, name), err_msg=name)
    cold = BernoulliRBM(n_iter=1, **params).fit(X).fit(X)      # starts anew each time
    np.testing.assert_array_equal(cold.components_,
                                  BernoulliRBM(n_iter=1, **params).fit(X).components_)


def test_warm_start_refuses_another_number_of_features():
    X = binary_data(np.random.default_rng(16), 30, 6, np.float64)
    rbm = BernoulliRBM(n_components=3, n_iter=1, warm_start=True).fit(X)
    with pytest.raises(ValueError, match="features"):
        rbm.fit(X[:, :5])
