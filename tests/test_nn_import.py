"""fastblas.nn without scikit-learn: a clear ImportError that says what to install."""
import sys

import pytest

import fastblas.nn


@pytest.mark.parametrize("name", ["BernoulliRBM", "MLPClassifier", "MLPRegressor"])
def test_missing_scikit_learn_is_explained(monkeypatch, name):
    for module in list(sys.modules):
        if module.partition(".")[0] == "sklearn" or module.startswith("fastblas.nn._"):
            monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "sklearn", None)   # import sklearn now fails
    monkeypatch.delitem(sys.modules, fastblas.nn._MODULE_OF[name], raising=False)
    with pytest.raises(ImportError, match="needs scikit-learn: pip install scikit-learn"):
        getattr(fastblas.nn, name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Perceptron'"):
        fastblas.nn.Perceptron
