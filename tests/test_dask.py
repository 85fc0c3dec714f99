"""joblib's Dask backend runs a fastblas.nn grid search on a dask.distributed cluster
(here a LocalCluster of two worker processes) with the scores of a sequential run."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")
import joblib  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from fastblas.nn import BernoulliRBM  # noqa: E402


def search():
    pipe = Pipeline([("rbm", BernoulliRBM(n_iter=5, random_state=0, batch_size=20)),
                     ("clf", LogisticRegression(C=0.1, max_iter=100, tol=1e-3))])
    grid = {"rbm__n_components": [16, 32], "rbm__learning_rate": [0.05, 0.1]}
    return GridSearchCV(pipe, grid, cv=2, n_jobs=-1)


def test_grid_search_on_a_dask_cluster_equals_sequential():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    with joblib.parallel_config(backend="sequential"):
        sequential = search().fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_backend("dask"):
        on_cluster = search().fit(X, y)
    np.testing.assert_array_equal(on_cluster.cv_results_["mean_test_score"],
                                  sequential.cv_results_["mean_test_score"])
    assert on_cluster.best_params_ == sequential.best_params_
