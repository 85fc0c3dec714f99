"""Training recipes: each model fastblas trains, declared once.

A recipe is data: the model (``"rbm"`` or ``"mlp"``), its parameters in
scikit-learn's names (which fastblas.nn's estimators take too) and the data it
trains on. The command line, the demo and the training benchmark all build
their models from here, with :func:`make_estimator`, from one of three
libraries:

``"fastblas"``
    ``fastblas.nn.BernoulliRBM`` or ``fastblas.nn.MLPClassifier``;
``"sklearn"``
    ``sklearn.neural_network``'s estimator of the same name, given the
    parameters it has (scikit-learn's RBM has no ``momentum``, ``cd_k`` or
    ``persistent``: it always trains by PCD-1 without momentum);
``"numpy"``
    the NumPy reference implementations (``fastblas.benchmarks.references``),
    for the recipes they can express.

Example::

    from fastblas import _recipes
    recipe = _recipes.RECIPES["mlp"].with_hidden(256)
    library, note = _recipes.choose_library(recipe)     # fastblas, else numpy
    data = _recipes.load_data(n_train=10000)
    model = _recipes.make_estimator(recipe, library, epochs=5, random_state=0)
    model.fit(data.X_train, data.y_train)

Nothing here imports scikit-learn, matplotlib or the benchmarks until a model
is made.
"""
import dataclasses
import importlib
import warnings
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

import numpy as np

__all__ = ["Recipe", "RECIPES", "LIBRARIES", "TrainingData", "choose_library",
           "load_data", "make_estimator", "supports"]

LIBRARIES = ("fastblas", "sklearn", "numpy")

# What each model is called in fastblas.nn and sklearn.neural_network, and the
# parameter that holds its hidden layer sizes and its number of epochs there.
_ESTIMATOR = {"rbm": "BernoulliRBM", "mlp": "MLPClassifier"}
_HIDDEN_PARAM = {"rbm": "n_components", "mlp": "hidden_layer_sizes"}
_EPOCHS_PARAM = {"rbm": "n_iter", "mlp": "max_iter"}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A model to train, its parameters (scikit-learn's names) and its data.

    ``params`` lists every parameter that differs from fastblas.nn's defaults,
    and those the other libraries must be told; the number of epochs is not a
    recipe parameter but an argument of :func:`make_estimator`.
    """
    name: str
    model: str                       # "rbm" or "mlp"
    params: Mapping[str, Any]
    description: str
    data: str = "fashion-mnist"

    def __post_init__(self):
        if self.model not in _ESTIMATOR:
            raise ValueError(f"model must be one of {sorted(_ESTIMATOR)}, got {self.model!r}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def with_params(self, **params):
        """The same recipe with some parameters changed (scikit-learn's names)."""
        return dataclasses.replace(self, params={**self.params, **params})

    def with_hidden(self, units):
        """The same recipe with other hidden layer sizes: an int, or a sequence for the MLP."""
        sizes = tuple(np.atleast_1d(units).tolist())
        if self.model == "rbm":
            if len(sizes) != 1:
                raise ValueError(f"the RBM has one hidden layer, got sizes {sizes}")
            return self.with_params(n_components=sizes[0])
        return self.with_params(hidden_layer_sizes=sizes)

    @property
    def hidden_units(self):
        """The hidden layer sizes, as a tuple."""
        return tuple(np.atleast_1d(self.params[_HIDDEN_PARAM[self.model]]).tolist())

    @property
    def batch_size(self):
        return self.params["batch_size"]

    def layers(self, n_features=784, n_classes=10):
        """``"784-500"`` (RBM) or ``"784-500-10"`` (MLP)."""
        sizes = (n_features, *self.hidden_units) + ((n_classes,) if self.model == "mlp" else ())
        return "-".join(map(str, sizes))


RECIPES = {recipe.name: recipe for recipe in [
    Recipe("rbm", "rbm",
           dict(n_components=500, learning_rate=0.1, batch_size=100, momentum=0.9,
                persistent=False, cd_k=1),
           "Bernoulli RBM, CD-1, momentum 0.9, lr 0.1, minibatch 100"),
    Recipe("rbm-sklearn", "rbm",
           dict(n_components=256, learning_rate=0.1, batch_size=10),
           "Bernoulli RBM with scikit-learn's defaults: PCD-1, lr 0.1, minibatch 10"),
    Recipe("mlp", "mlp",
           dict(hidden_layer_sizes=(500,), activation="tanh", solver="sgd",
                learning_rate_init=0.1, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                batch_size=100, shuffle=False),
           "MLP, tanh, softmax cross-entropy, plain SGD lr 0.1, minibatch 100"),
    Recipe("mlp-adam", "mlp",
           dict(hidden_layer_sizes=(100,), activation="relu", solver="adam",
                learning_rate_init=1e-3, alpha=0.0, batch_size=32, shuffle=False),
           "MLP, relu, softmax cross-entropy, Adam lr 0.001, minibatch 32"),
    Recipe("mlp-sklearn", "mlp",
           dict(hidden_layer_sizes=(100,), activation="relu", solver="adam",
                learning_rate_init=1e-3, alpha=1e-4, batch_size=200, shuffle=True),
           "MLPClassifier with scikit-learn's defaults: relu, Adam lr 0.001, "
           "alpha 1e-4, minibatch 200, shuffled"),
]}


# ---------------------------------------------------------------- libraries

def _fastblas_class(model):
    return getattr(importlib.import_module("fastblas.nn"), _ESTIMATOR[model])


def _sklearn_class(model):
    return getattr(importlib.import_module("sklearn.neural_network"), _ESTIMATOR[model])


def _references():
    """The NumPy reference models: shipped as fastblas.benchmarks, or benchmarks/ in a
    source tree built in place."""
    try:
        return importlib.import_module("fastblas.benchmarks.references")
    except ModuleNotFoundError as exc:
        if exc.name != "fastblas.benchmarks":
            raise
        return importlib.import_module("benchmarks.references")


def choose_library(recipe, library="fastblas"):
    """``(library, note)``: ``library``, or the NumPy reference when fastblas.nn is
    not available (``note`` then says why, else it is None)."""
    if library not in LIBRARIES:
        raise ValueError(f"library must be one of {', '.join(LIBRARIES)}, got {library!r}")
    if library != "fastblas":
        return library, None
    try:
        _fastblas_class(recipe.model)
    except ImportError as exc:
        return "numpy", f"{exc}; training the NumPy reference instead"
    return "fastblas", None


def _numpy_arguments(recipe):
    """The recipe in the NumPy reference's arguments; ValueError for what it cannot do."""
    p = dict(recipe.params)

    def refuse(what):
        raise ValueError(f"the NumPy reference {recipe.model.upper()} cannot train recipe "
                         f"{recipe.name!r}: {what}")

    if recipe.model == "rbm":
        if p.get("persistent", True) or p.get("cd_k", 1) != 1 or p.get("weight_decay", 0):
            refuse("it trains by CD-1 only (persistent=False, cd_k=1, no weight decay)")
        return dict(n_components=p["n_components"], learning_rate=p["learning_rate"],
                    momentum=p.get("momentum", 0.0), batch_size=p["batch_size"])
    if len(recipe.hidden_units) != 1:
        refuse(f"it has one hidden layer, got sizes {recipe.hidden_units}")
    if p["solver"] not in ("sgd", "adam") or p["activation"] not in ("tanh", "relu"):
        refuse("it trains tanh or relu units by plain SGD or Adam")
    if p["solver"] == "sgd" and p.get("momentum", 0.9) != 0:
        refuse("its SGD has no momentum (momentum=0)")
    if p.get("alpha", 1e-4) != 0 or p.get("shuffle", True):
        refuse("it has no weight penalty and does not shuffle (alpha=0, shuffle=False)")
    return dict(n_hidden=recipe.hidden_units[0], learning_rate=p["learning_rate_init"],
                batch_size=p["batch_size"], activation=p["activation"], solver=p["solver"])


def supports(recipe, library):
    """Whether ``library`` can train ``recipe`` as declared (scikit-learn always can,
    with the parameters it has)."""
    if library != "numpy":
        return True
    try:
        _numpy_arguments(recipe)
    except ValueError:
        return False
    return True


def make_estimator(recipe, library="fastblas", *, epochs=1, dtype=np.float32,
                   random_state=0, callback=None, **params):
    """A new, unfitted model of ``recipe`` from ``library``, set to train ``epochs`` epochs.

    ``params`` override the recipe's (scikit-learn's names, e.g. ``verbose=1``).
    ``dtype`` is the model's precision (scikit-learn's estimators follow their
    input's); ``callback(epoch, model)`` is called after every epoch of ``fit``
    (not by scikit-learn's estimators, which have no callback).
    """
    recipe = recipe.with_params(**params) if params else recipe
    if library == "numpy":
        cls = getattr(_references(), "NumpyRBM" if recipe.model == "rbm" else "NumpyMLP")
        return cls(**_numpy_arguments(recipe), **{_EPOCHS_PARAM[recipe.model]: epochs},
                   dtype=np.dtype(dtype), random_state=random_state, callback=callback)
    settings = {**recipe.params, _EPOCHS_PARAM[recipe.model]: epochs,
                "random_state": random_state}
    if library == "fastblas":
        return _fastblas_class(recipe.model)(**settings, dtype=np.dtype(dtype).name,
                                             callback=callback)
    if library == "sklearn":
        cls = _sklearn_class(recipe.model)
        known = cls().get_params()
        return cls(**{name: value for name, value in settings.items() if name in known})
    raise ValueError(f"library must be one of {', '.join(LIBRARIES)}, got {library!r}")


# ---------------------------------------------------------------- data

class TrainingData(NamedTuple):
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str          # where the images came from, in words


def load_data(path=None, n_train=None, n_test=None, dtype=np.float32):
    """Fashion-MNIST (``fastblas.datasets``): the first ``n_train`` training and
    ``n_test`` test images (None: all), and a sentence saying where they came from.

    Raises OSError or ValueError when the files are missing or unreadable.
    """
    from fastblas import datasets
    directory = datasets.find_fashion_mnist(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.EmbeddedDataWarning)   # said in `source`
        X_train, y_train = datasets.load_fashion_mnist("train", path=path, dtype=dtype,
                                                       n_samples=n_train)
        X_test, y_test = datasets.load_fashion_mnist("test", path=path, dtype=dtype,
                                                     n_samples=n_test)
    if directory is None:
        source = ("the small Fashion-MNIST subset embedded in fastblas; for the full data: "
                  f"sudo apt-get install dataset-fashion-mnist (or {datasets.ENV_VAR}=DIR, "
                  "--data DIR)")
    else:
        source = f"Fashion-MNIST from {directory}"
    return TrainingData(X_train, y_train, X_test, y_test, source)
