"""scikit-learn-style estimators whose training loops run entirely in nogil Cython.

    from fastblas.nn import BernoulliRBM, MLPClassifier, MLPRegressor

The classes are drop-ins for scikit-learn's of the same names, which they need
(``pip install scikit-learn``). They are imported on first use, so that ``import fastblas``
stays cheap and does not import scikit-learn.

What they share (``fastblas.nn._common``): one seeding rule (an int
``random_state`` s gives ``numpy.random.default_rng(s)``; float32 and float64
models fitted with one seed draw the same numbers), and ``n_threads``: None
chooses the BLAS thread count of a fit from its product sizes and the idle
cores, an int forces it. Their fits release the GIL for whole epochs, so that
joblib's threading backend trains several models at once::

    import joblib
    with joblib.parallel_config(backend="threading"):
        GridSearchCV(MLPClassifier(), grid, n_jobs=2).fit(X, y)
"""
import importlib

_MODULE_OF = {
    "BernoulliRBM": "fastblas.nn._rbm",
    "MLPClassifier": "fastblas.nn._mlp",
    "MLPRegressor": "fastblas.nn._mlp",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'fastblas.nn' has no attribute {name!r}")
    try:
        module = importlib.import_module(_MODULE_OF[name])
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "sklearn":
            raise
        raise ImportError(f"fastblas.nn.{name} needs scikit-learn: "
                          "pip install scikit-learn") from exc
    return getattr(module, name)


def __dir__():
    return __all__
