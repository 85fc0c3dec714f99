"""The NumPy reference RBM and MLP of benchmarks/references.py learn, and compute what they say."""
import warnings

import numpy as np
import pytest

from fastblas import datasets
try:
    from fastblas.benchmarks.references import NumpyMLP, NumpyRBM, reconstruction_error
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks.references import NumpyMLP, NumpyRBM, reconstruction_error

DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module")
def subset():
    """The embedded Fashion-MNIST subset whatever is installed: the same on every machine."""
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.delenv(datasets.ENV_VAR, raising=False)
        mp.setattr(datasets, "SYSTEM_DIR", "/nonexistent")
        warnings.simplefilter("ignore", datasets.EmbeddedDataWarning)
        train = datasets.load_fashion_mnist("train", dtype=np.float64)
        test = datasets.load_fashion_mnist("test", dtype=np.float64)
    return train, test


@pytest.mark.parametrize("dtype", DTYPES)
def test_rbm_reconstruction_error_falls(subset, dtype):
    (X, _), (X_test, _) = subset
    X, X_test = X[:2500].astype(dtype), X_test.astype(dtype)
    errors = []
    rbm = NumpyRBM(n_components=64, n_iter=4, dtype=dtype, random_state=0,
                   callback=lambda epoch, model: errors.append(
                       reconstruction_error(model, X_test)))
    rbm.fit(X)
    assert len(errors) == 4
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.85 * errors[0]
    for param in (rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_):
        assert param.dtype == dtype   # no silent upcast in the update
    assert rbm.components_.shape == (64, 784)
    features = rbm.transform(X_test)
    assert features.shape == (len(X_test), 64) and features.dtype == dtype
    assert 0 <= features.min() and features.max() <= 1


def test_rbm_same_seed_same_model(subset):
    (X, _), _ = subset
    a = NumpyRBM(n_components=16, n_iter=1, random_state=3).fit(X[:300])
    b = NumpyRBM(n_components=16, n_iter=1, random_state=3).fit(X[:300])
    c = NumpyRBM(n_components=16, n_iter=1, random_state=4).fit(X[:300])
    np.testing.assert_array_equal(a.components_, b.components_)
    assert not np.array_equal(a.components_, c.components_)


def test_rbm_update_matches_the_cd1_formulas():
    """One minibatch update equals the CD-1 formulas, the model's random draws replayed."""
    rng = np.random.default_rng(5)
    v0 = (rng.random((6, 9)) < 0.5).astype(np.float64)
    rbm = NumpyRBM(n_components=4, learning_rate=0.3, momentum=0.5, batch_size=6,
                   dtype=np.float64, random_state=7)
    rbm.epoch(v0)                       # initialises, then one update (speed 0 before it)
    replay = np.random.default_rng(7)
    W = 0.01 * replay.standard_normal((9, 4))
    b_h, b_v = np.zeros(4), np.zeros(9)

    def logistic(x):
        return 1 / (1 + np.exp(-x))

    h0 = (replay.random((6, 4)) < logistic(v0 @ W + b_h)).astype(float)
    v1 = (replay.random((6, 9)) < logistic(h0 @ W.T + b_v)).astype(float)
    p_h1 = logistic(v1 @ W + b_h)
    # first step from zero speed: param += lr * grad
    W_expected = W + 0.3 * (np.einsum("bi,bj->ij", v0, h0) - np.einsum("bi,bj->ij", v1, p_h1)) / 6
    np.testing.assert_allclose(rbm.components_.T, W_expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rbm.intercept_hidden_, 0.3 * (h0 - p_h1).mean(axis=0), atol=1e-14)
    np.testing.assert_allclose(rbm.intercept_visible_, 0.3 * (v0 - v1).mean(axis=0), atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp_learns_far_above_chance(subset, dtype):
    (X, y), (X_test, y_test) = subset
    mlp = NumpyMLP(n_hidden=64, max_iter=3, dtype=dtype, random_state=0).fit(X, y)
    assert mlp.score(X_test, y_test) > 0.65          # chance: 0.10
    assert mlp.loss_curve_[-1] < mlp.loss_curve_[0] < np.log(10)
    assert all(c.dtype == dtype for c in mlp.coefs_ + mlp.intercepts_)
    proba = mlp.predict_proba(X_test[:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def numeric_gradients(mlp, X, y, eps=1e-6):
    """Central differences of the mean cross-entropy w.r.t. every parameter."""
    def mean_loss():
        _, logits = mlp._forward(X)
        return np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(y)), y])

    grads = []
    for p in mlp._params():
        grad = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + eps
            up = mean_loss()
            p[index] = saved - eps
            down = mean_loss()
            p[index] = saved
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return mean_loss(), grads


def small_mlp(activation, solver, learning_rate):
    """A 6-4-3 network on 5 random samples, non-zero biases so that every gradient is general."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((5, 6))
    y = np.array([0, 2, 1, 2, 0])
    mlp = NumpyMLP(n_hidden=4, learning_rate=learning_rate, batch_size=5, activation=activation,
                   solver=solver, dtype=np.float64, random_state=9)
    mlp._initialize(6, np.unique(y))
    for bias in mlp.intercepts_:
        bias += rng.standard_normal(bias.shape)
    return mlp, X, y


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_sgd_step_follows_the_gradient(activation):
    """The SGD step is -lr times the gradient of the mean cross-entropy (central differences)."""
    mlp, X, y = small_mlp(activation, "sgd", learning_rate=1e-3)
    mean_loss, numeric = numeric_gradients(mlp, X, y)
    before = [p.copy() for p in mlp._params()]
    assert mlp._step(X, y) == pytest.approx(5 * mean_loss, rel=1e-12)
    for p, p0, g in zip(mlp._params(), before, numeric):
        np.testing.assert_allclose((p0 - p) / 1e-3, g, rtol=1e-6, atol=1e-8)


def test_mlp_adam_steps_follow_kingma_and_ba():
    """Two Adam steps against Algorithm 1 of Kingma and Ba (2015), given the gradients
    (whose correctness test_mlp_sgd_step_follows_the_gradient checks)."""
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    mlp, X, y = small_mlp("tanh", "adam", learning_rate=lr)
    m = [np.zeros_like(p) for p in mlp._params()]
    v = [np.zeros_like(p) for p in mlp._params()]
    for t in (1, 2):
        before = [p.copy() for p in mlp._params()]
        grads = mlp._gradients(X, y)[1]
        mlp._step(X, y)
        for i, (p, p0, g) in enumerate(zip(mlp._params(), before, grads)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            # sklearn's form puts eps outside the bias correction: eps * sqrt(1 - b2**t)
            expected = lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2 ** t))
            np.testing.assert_allclose(p0 - p, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation, solver, lr", [("relu", "adam", 1e-3), ("relu", "sgd", 0.1)])
def test_mlp_relu_and_adam_learn(subset, activation, solver, lr):
    (X, y), (X_test, y_test) = subset
    mlp = NumpyMLP(n_hidden=64, learning_rate=lr, batch_size=32, max_iter=2,
                   activation=activation, solver=solver, random_state=0).fit(X, y)
    assert mlp.score(X_test, y_test) > 0.5      # chance: 0.10


def test_mlp_refuses_bad_input(subset):
    (X, y), _ = subset
    mlp = NumpyMLP(n_hidden=8, max_iter=1).fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="labels"):
        mlp.epoch(X[:10], np.full(10, 42))
    with pytest.raises(ValueError, match="2-D"):
        mlp.epoch(X[0], y[:1])
