"""Many models at once: fastblas.nn fits release the GIL for whole epochs, so joblib's
threading backend trains k models on k threads, each the model a sequential run gives."""
import threading

import numpy as np
import pytest

pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from fastblas.nn import BernoulliRBM, MLPClassifier  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def rbm_search(n_jobs):
    pipe = Pipeline([("rbm", BernoulliRBM(n_iter=5, random_state=0, batch_size=20)),
                     ("clf", LogisticRegression(C=0.1, max_iter=100, tol=1e-3))])
    grid = {"rbm__n_components": [16, 32], "rbm__learning_rate": [0.05, 0.1]}
    return GridSearchCV(pipe, grid, cv=2, n_jobs=n_jobs)


def mlp_search(n_jobs):
    mlp = MLPClassifier(max_iter=15, random_state=0, batch_size=32)
    grid = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-2]}
    return GridSearchCV(mlp, grid, cv=2, n_jobs=n_jobs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make_search", [rbm_search, mlp_search])
def test_threaded_grid_search_equals_sequential(digits, make_search):
    X, y = digits
    sequential = make_search(n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="threading"):
        threaded = make_search(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  sequential.cv_results_["mean_test_score"])
    assert threaded.best_params_ == sequential.best_params_


def test_threads_fit_the_sequential_models(digits):
    X, _ = digits
    params = [dict(n_components=24, random_state=s, dtype=d, momentum=0.5, batch_size=10)
              for s, d in [(0, "float32"), (1, "float64"), (2, "float32")]]
    sequential = [BernoulliRBM(n_iter=3, **p).fit(X) for p in params]
    threaded = [BernoulliRBM(n_iter=3, **p) for p in params]
    workers = [threading.Thread(target=m.fit, args=(X,)) for m in threaded]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for a, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a.components_, b.components_)
        np.testing.assert_array_equal(a.h_samples_, b.h_samples_)


