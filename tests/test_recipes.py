"""The registry of training recipes builds the same model from every library it names."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastblas
from fastblas import _recipes, datasets

RECIPES = list(_recipes.RECIPES.values())


@pytest.fixture(scope="module")
def small_data():
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(datasets.ENV_VAR, raising=False)
        mp.setattr(datasets, "SYSTEM_DIR", "/nonexistent")
        return _recipes.load_data(n_train=300, n_test=100)


def test_importing_the_registry_imports_no_optional_package(tmp_path):
    # from a temporary directory, with the fastblas this test imported first on the
    # path: in the repository root, ./fastblas would be the uncompiled source tree
    code = ("import sys; from fastblas import _recipes; "
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'benchmarks', "
            "'fastblas.benchmarks') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(fastblas.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, check=True).stdout
    assert out.strip() == "[]"


def test_recipes_are_immutable_and_with_params_copies():
    recipe = _recipes.RECIPES["mlp"]
    with pytest.raises(TypeError):
        recipe.params["batch_size"] = 7
    changed = recipe.with_params(batch_size=7).with_hidden([64, 32])
    assert changed.batch_size == 7 and changed.hidden_units == (64, 32)
    assert recipe.batch_size == 100 and recipe.hidden_units == (500,)
    assert changed.layers() == "784-64-32-10"
    assert _recipes.RECIPES["rbm"].with_hidden(64).layers() == "784-64"
    with pytest.raises(ValueError, match="one hidden layer"):
        _recipes.RECIPES["rbm"].with_hidden([64, 32])
    with pytest.raises(ValueError, match="model"):
        _recipes.Recipe("x", "gan", {}, "")


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
@pytest.mark.parametrize("library", ["fastblas", "sklearn"])
def test_estimators_take_every_parameter_of_the_recipe(recipe, library):
    pytest.importorskip("sklearn")
    model = _recipes.make_estimator(recipe, library, epochs=3, random_state=5)
    params = model.get_params()
    assert params["random_state"] == 5
    assert params["n_iter" if recipe.model == "rbm" else "max_iter"] == 3
    # scikit-learn is given the parameters it has; fastblas.nn has them all
    for name, value in recipe.params.items():
        if library == "fastblas" or name in params:
            assert params[name] == value, name
    if library == "fastblas":
        assert params["dtype"] == "float32"


def test_numpy_reference_expresses_the_classic_recipes_only():
    assert {r.name for r in RECIPES if _recipes.supports(r, "numpy")} == {"rbm", "mlp",
                                                                          "mlp-adam"}
    with pytest.raises(ValueError, match="CD-1"):
        _recipes.make_estimator(_recipes.RECIPES["rbm-sklearn"], "numpy")
    with pytest.raises(ValueError, match="one hidden layer"):
        _recipes.make_estimator(_recipes.RECIPES["mlp"].with_hidden([8, 8]), "numpy")
    rbm = _recipes.make_estimator(_recipes.RECIPES["rbm"], "numpy", epochs=2, dtype="float64")
    assert (rbm.n_components, rbm.momentum, rbm.batch_size, rbm.n_iter) == (500, 0.9, 100, 2)
    assert rbm.dtype == np.float64
    mlp = _recipes.make_estimator(_recipes.RECIPES["mlp-adam"], "numpy")
    assert (mlp.n_hidden, mlp.solver, mlp.activation, mlp.batch_size, mlp.learning_rate) == (
        100, "adam", "relu", 32, 1e-3)


@pytest.mark.parametrize("name", ["rbm", "mlp"])
@pytest.mark.parametrize("library", ["fastblas", "numpy"])
def test_fastblas_and_the_numpy_reference_train_the_same_recipe(small_data, name, library):
    pytest.importorskip("sklearn")
    recipe = _recipes.RECIPES[name].with_hidden(16)
    epochs = []
    model = _recipes.make_estimator(recipe, library, epochs=2,
                                    callback=lambda epoch, m: epochs.append(epoch))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # ConvergenceWarning of a 2-epoch MLP
        model.fit(small_data.X_train, small_data.y_train)
    assert epochs == [1, 2]
    if name == "rbm":
        assert model.components_.shape == (16, 784) and model.components_.dtype == np.float32
    else:
        assert model.score(small_data.X_test, small_data.y_test) > 0.3   # chance: 0.1


def test_choose_library_falls_back_to_numpy_when_fastblas_nn_is_missing(monkeypatch):
    recipe = _recipes.RECIPES["mlp"]
    assert _recipes.choose_library(recipe, "numpy") == ("numpy", None)

    def missing(model):
        raise ImportError("fastblas.nn.MLPClassifier needs scikit-learn")

    monkeypatch.setattr(_recipes, "_fastblas_class", missing)
    library, note = _recipes.choose_library(recipe)
    assert library == "numpy"
    assert "needs scikit-learn" in note and "NumPy reference" in note
    with pytest.raises(ValueError, match="library"):
        _recipes.choose_library(recipe, "torch")


def test_load_data_slices_and_says_where_from(small_data):
    assert small_data.X_train.shape == (300, 784) and small_data.X_test.shape == (100, 784)
    assert small_data.X_train.dtype == np.float32 and small_data.y_train.shape == (300,)
    assert "embedded" in small_data.source and "dataset-fashion-mnist" in small_data.source
