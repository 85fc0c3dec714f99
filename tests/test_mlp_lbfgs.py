"""solver='lbfgs' in fastblas.nn.MLPClassifier and MLPRegressor.

scikit-learn hands its L-BFGS a flat parameter vector and a loss/gradient function
(``_fit_lbfgs``, ``_loss_grad_lbfgs``); fastblas hands the same scipy routine the
engine's whole-set loss and gradient (checked against finite differences and
scikit-learn's ``_backprop`` in tests/test_mlp.py). Started from the same initial
weights, the two fits must then agree: loss, weights, iteration count, warnings.
"""
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402

from fastblas.nn import MLPClassifier, MLPRegressor  # noqa: E402
from mlp_helpers import from_initial_weights  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=4, return_X_y=True)
    return X[:200] / 16, y[:200]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=150, n_features=6, n_targets=2, noise=5.0,
                           random_state=0)
    return X, y / y.std(0)


def fit_both(fastblas_cls, sklearn_cls, X, y, seed=0, sample_weight=None, **params):
    models = []
    for cls in (fastblas_cls, sklearn_cls):
        model = from_initial_weights(cls(solver="lbfgs", **params), seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X, y, sample_weight=sample_weight)
        models.append((model, [w for w in caught if w.category is ConvergenceWarning]))
    return models


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_classifier_matches_sklearn_from_the_same_weights(digits, activation):
    X, y = digits
    (ours, our_warnings), (theirs, their_warnings) = fit_both(
        MLPClassifier, SkMLPClassifier, X, y, hidden_layer_sizes=(12,), max_iter=30,
        alpha=1e-3, activation=activation)
    # the same objective to rounding: L-BFGS takes the same steps; the last
    # iterations amplify rounding a little
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.n_iter_ == theirs.n_iter_
    for p, q in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5 * np.abs(q).max())
    assert [str(w.message) for w in our_warnings] == [str(w.message) for w in their_warnings]
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # scikit-learn records no loss curve for L-BFGS; neither does fastblas
    assert hasattr(ours, "loss_curve_") == hasattr(theirs, "loss_curve_")


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_with_sample_weight_matches_sklearn(regression, loss):
    X, y = regression
    if loss == "poisson":
        y = np.exp(y / 2)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    (ours, _), (theirs, _) = fit_both(
        MLPRegressor, SkMLPRegressor, X, y, sample_weight=weights, loss=loss,
        hidden_layer_sizes=(10, 5), activation="tanh", max_iter=40, alpha=1e-2)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4,
                               atol=1e-4 * np.abs(theirs.predict(X)).max())


def test_sparse_input_matches_dense(digits):
    X, y = digits
    dense = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=15,
                          random_state=0)
    sparse = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=15,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        sparse.fit(scipy.sparse.csr_matrix(X), y)
    assert sparse.loss_ == pytest.approx(dense.loss_, rel=1e-10)


def test_max_iter_warns_as_sklearn(digits):
    X, y = digits
    (ours, our_warnings), (theirs, their_warnings) = fit_both(
        MLPClassifier, SkMLPClassifier, X, y, hidden_layer_sizes=(12,), max_iter=5)
    assert ours.n_iter_ == theirs.n_iter_ == 5
    assert len(our_warnings) == 1
    assert str(our_warnings[0].message) == str(their_warnings[0].message)
    assert "Increase the number of iterations" in str(our_warnings[0].message)


@pytest.mark.parametrize("max_fun", [1, 5, 12])
def test_max_fun_limits_loss_evaluations(digits, max_fun, monkeypatch):
    X, y = digits
    calls = []
    minimize = scipy.optimize.minimize

    def counting(fun, *args, **kwargs):
        def counted(x, *a):
            calls.append(1)
            return fun(x, *a)
        return minimize(counted, *args, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", counting)
    model = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(12,), max_iter=200,
                          max_fun=max_fun, tol=0.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="TOTAL NO. OF F"):
        model.fit(X, y)
    # scipy may finish the line search it is in: a few evaluations past max_fun
    assert max_fun <= len(calls) <= max_fun + 20
    assert model.n_iter_ <= max_fun


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_same_seed_same_model_in_float32_and_float64(digits, cls):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = [cls(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=10,
                      random_state=3, dtype=dtype).fit(X, y)
                  for dtype in (np.float32, np.float64)]
    for model, dtype in zip(models, (np.float32, np.float64)):
        assert all(c.dtype == dtype for c in model.coefs_ + model.intercepts_)
    float32, float64 = models
    assert float32.loss_ == pytest.approx(float64.loss_, rel=1e-3)


def test_warm_start_continues(digits):
    X, y = digits
    model = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(8,), max_iter=5,
                          warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        first = model.loss_
        model.fit(X, y)
    assert model.loss_ < first


# ---------------------------------------------------------------- bench_train's L-BFGS fits

def _bench_train():
    try:
        from fastblas.benchmarks import bench_train
    except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
        from benchmarks import bench_train
    return bench_train


def test_bench_lbfgs_fits_start_from_the_same_weights_every_call():
    bench_train = _bench_train()
    rng = np.random.default_rng(5)
    X, y = rng.random((120, 784)), np.arange(120) % 10
    recipe = bench_train.LBFGS_RECIPE.with_hidden(8)
    ours = bench_train.LbfgsFit("fastblas", recipe, X, y, max_iter=15)
    theirs = bench_train.LbfgsFit("sklearn", recipe, X, y, max_iter=15)
    for fit in (ours, theirs, ours):
        fit()
    first = ours.loss
    ours()
    assert ours.loss == first                    # each call the same fit
    assert ours.counts == theirs.counts and ours.counts["nit"] == 15
    assert ours.loss == pytest.approx(theirs.loss, rel=1e-6)   # float64: the same steps


def test_bench_lbfgs_table(capsys):
    bench_train = _bench_train()
    assert bench_train.main(["mlp-lbfgs", "--quick", "--n-samples", "60", "--markdown"]) == 0
    out = capsys.readouterr().out
    header = [cell.strip() for cell in out.split("| contender")[1].split("\n")[0].split("|")]
    assert ["contender"] + header[1:-1] == bench_train.LBFGS_HEADERS
    rows = [line for line in out.splitlines() if line.startswith("| fastblas")]
    assert [row.split("|")[2].strip() for row in rows] == ["float32", "float64"]
