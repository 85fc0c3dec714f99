"""MLPClassifier and MLPRegressor whose training runs in nogil Cython (fastblas._mlp).

They subclass scikit-learn's estimators of the same names: validation, label
binarisation, weight initialisation (Glorot uniform), prediction, scoring and the
once-per-epoch bookkeeping (loss curve, tolerance-based stopping, the 'adaptive'
and 'invscaling' learning-rate schedules, early stopping on a validation split,
warm start, partial_fit) are scikit-learn's own. The training itself is a
:class:`fastblas._mlp.Trainer`'s: whole epochs of SGD or Adam without the GIL, or,
for L-BFGS, the loss and gradient over the training set that
``scipy.optimize.minimize(method="L-BFGS-B")`` asks for, as in scikit-learn.

The Trainer owns the parameters (``coefs_`` and ``intercepts_`` are views of its
flat vector) and the optimizer state; ``_optimizer`` is a small view of it with
what scikit-learn's bookkeeping reads (the learning rate, Adam's step count, the
schedule's per-epoch hooks). It is kept across ``partial_fit`` calls.

Requires scikit-learn >= 1.7 (``sample_weight`` in the MLP's private methods).
"""
import time
import warnings
from numbers import Integral

import numpy as np
import scipy.optimize
import sklearn
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._base import ACTIVATIONS
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils._param_validation import Interval
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict, parse_version
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, validate_data

from fastblas import _mlp
from fastblas.nn._common import (
    blas_threads, choose_blas_threads, describe_blas_threads, dot, make_generator,
)

__all__ = ["MLPClassifier", "MLPRegressor"]

if parse_version(sklearn.__version__) < parse_version("1.7"):
    raise ImportError("fastblas.nn.MLPClassifier and MLPRegressor need scikit-learn >= 1.7, "
                      f"found {sklearn.__version__}: pip install -U scikit-learn")

_SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Parameters added to scikit-learn's.
_EXTRA_CONSTRAINTS = {
    "dtype": [None, type, str, np.dtype],
    "callback": [None, callable],
    "n_threads": [None, Interval(Integral, 1, None, closed="left")],
}


# ---------------------------------------------------------------------------
# The optimizer as scikit-learn's bookkeeping sees it
# ---------------------------------------------------------------------------

class _OptimizerView:
    """What scikit-learn's per-epoch bookkeeping reads and calls on its optimizer
    (``learning_rate``, ``iteration_ends``, ``trigger_stopping``, Adam's ``t``),
    over the Trainer, which owns the state. The hooks are scikit-learn's own."""

    def __init__(self, trainer, learning_rate_init, lr_schedule="constant", power_t=0.5):
        self.trainer = trainer
        self.learning_rate_init = learning_rate_init
        self.lr_schedule = lr_schedule
        self.power_t = power_t

    @property
    def learning_rate(self):
        return self.trainer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.trainer.learning_rate = value

    @property
    def t(self):
        return self.trainer.t


class _SGDView(_OptimizerView):
    iteration_ends = SGDOptimizer.iteration_ends        # the 'invscaling' schedule
    trigger_stopping = SGDOptimizer.trigger_stopping    # the 'adaptive' schedule


class _AdamView(_OptimizerView):
    iteration_ends = AdamOptimizer.iteration_ends
    trigger_stopping = AdamOptimizer.trigger_stopping


def _products(layer_units, rows):
    """(m, n, k) of the matrix products of one batch of `rows` rows."""
    return [shape for fan_in, fan_out in zip(layer_units, layer_units[1:])
            for shape in ((rows, fan_out, fan_in), (fan_in, fan_out, rows),
                          (rows, fan_in, fan_out))]


# ---------------------------------------------------------------------------
# What fastblas changes in scikit-learn's BaseMultilayerPerceptron
# ---------------------------------------------------------------------------

class _TrainedInCython:
    """Mixed in before scikit-learn's class, so ``super()`` is scikit-learn."""

    def _training_dtype(self, reset):
        if not reset and hasattr(self, "coefs_"):
            return self.coefs_[0].dtype      # warm start / partial_fit: the model's
        if self.dtype is None:
            return None
        message = f"dtype must be None, numpy.float32 or numpy.float64, got {self.dtype!r}"
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise ValueError(message) from None
        if dtype not in _SUPPORTED_DTYPES:
            raise ValueError(message)
        return dtype

    def _validate_input(self, X, y, incremental, reset):
        dtype = self._training_dtype(reset)     # before super() may reset state
        X, y = super()._validate_input(X, y, incremental, reset)
        if dtype is not None:
            X = X.astype(dtype, copy=False)
        return X, y

    def _loss_name(self):
        if self.loss == "log_loss" and self.out_activation_ == "logistic":
            return "binary_log_loss"
        return self.loss

    def _fit(self, X, y, sample_weight=None, incremental=False):
        # scikit-learn's _fit, without the per-layer buffers its NumPy passes need.
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden_layer_sizes}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden_layer_sizes + [self.n_outputs_]

        # Initial weights (scikit-learn's _init_coef: float64 draws, rounded to
        # the dtype), shuffles and the validation split all come from this one
        # Generator, so that the same seed gives the same model in either dtype.
        self._random_state = make_generator(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)

        if self.solver == "lbfgs":
            rows = _mlp.lbfgs_block_rows(layer_units, X.shape[0], X.dtype)
        else:
            rows = min(200 if self.batch_size == "auto" else self.batch_size, X.shape[0])
        self.n_threads_ = choose_blas_threads(self.n_threads, _products(layer_units, rows))
        if self.verbose:
            print(describe_blas_threads(self.n_threads_, self.n_threads))
        with blas_threads(self.n_threads_):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, y, sample_weight, layer_units)
            else:
                self._fit_stochastic(X, y, sample_weight, layer_units, incremental)

        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed.")
        return self

    def _forward_pass_fast(self, X, check_input=True):
        # scikit-learn's (predict, predict_proba, score), its products through
        # the BLAS the fits use (fastblas.nn._common.dot)
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        activation = X
        hidden_activation = ACTIVATIONS[self.activation]
        for i in range(self.n_layers_ - 1):
            activation = dot(activation, self.coefs_[i])
            activation += self.intercepts_[i]
            if i != self.n_layers_ - 2:
                hidden_activation(activation)
        ACTIVATIONS[self.out_activation_](activation)
        return activation

    # --- the engine -------------------------------------------------------------

    def _new_trainer(self, layer_units, dtype, **settings):
        return _mlp.make_trainer(
            dtype, layer_units, hidden_activation=self.activation,
            output_activation=self.out_activation_, loss=self._loss_name(),
            solver=self.solver, alpha=self.alpha, **settings)

    def _stochastic_trainer(self, layer_units, dtype, incremental):
        """The Trainer of this fit: partial_fit keeps the previous one (and its
        optimizer state) while the network and dtype are unchanged; fit starts
        a new optimizer, as scikit-learn does."""
        view = getattr(self, "_optimizer", None)
        trainer = getattr(view, "trainer", None)
        if (not incremental or trainer is None
                or trainer.layer_units != tuple(layer_units)
                or trainer.params.dtype != dtype or trainer.solver != self.solver):
            if self.solver == "sgd":
                trainer = self._new_trainer(
                    layer_units, dtype, learning_rate=self.learning_rate_init,
                    momentum=self.momentum, nesterov=self.nesterovs_momentum)
                self._optimizer = _SGDView(trainer, self.learning_rate_init,
                                           self.learning_rate, self.power_t)
            else:
                trainer = self._new_trainer(
                    layer_units, dtype, learning_rate=self.learning_rate_init,
                    beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
                self._optimizer = _AdamView(trainer, self.learning_rate_init)
        trainer.adopt(self.coefs_, self.intercepts_)
        trainer.alpha = self.alpha
        return trainer

    def _fit_stochastic(self, X, y, sample_weight, layer_units, incremental):
        # scikit-learn's _fit_stochastic with its minibatch loop replaced by
        # Trainer.epoch; the surrounding per-epoch logic is kept as is.
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        trainer = self._stochastic_trainer(layer_units, X.dtype, incremental)
        rng = self._random_state

        early_stopping = self.early_stopping
        X_val = y_val = sample_weight_val = None
        X_train, y_train, sample_weight_train = X, y, sample_weight
        if early_stopping:
            # don't stratify in multilabel classification
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
            split = train_test_split(
                *arrays, random_state=int(rng.integers(np.iinfo(np.int32).max)),
                test_size=self.validation_fraction,
                stratify=y if should_stratify else None)
            X_train, X_val, y_train, y_val = split[:4]
            if sample_weight is not None:
                sample_weight_train, sample_weight_val = split[4:]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)

        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than "
                              "sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        samples = _mlp.make_samples(X.dtype, X_train, y_train, sample_weight_train,
                                    shuffle=self.shuffle)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    samples.shuffle(rng)
                start = time.perf_counter()
                self.loss_ = trainer.epoch(samples, batch_size)
                seconds = max(time.perf_counter() - start, 1e-9)
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f (%.0f samples/s)"
                          % (self.n_iter_, self.loss_, n_samples / seconds))
                self._update_no_improvement_count(early_stopping, X_val, y_val,
                                                  sample_weight_val)
                self._optimizer.iteration_ends(self.t_)
                if self.callback is not None:
                    self.callback(self.n_iter_, self)

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than "
                               "tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f"
                               " for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter, ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        if early_stopping:
            # restore best weights
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    def _fit_lbfgs(self, X, y, sample_weight, layer_units):
        # scikit-learn's _fit_lbfgs: scipy's L-BFGS-B on the flat parameters (the
        # engine's own vector, in _pack order), the objective from the engine.
        trainer = self._new_trainer(layer_units, X.dtype)
        trainer.adopt(self.coefs_, self.intercepts_)
        samples = _mlp.make_samples(X.dtype, X, y, sample_weight)
        # the model kept if Ctrl-C stops the optimization: the last iterate, or
        # the initial weights (their loss once evaluated)
        last = {"x": trainer.params.astype(np.float64), "fun": np.nan, "nit": 0}

        def objective(x):
            gradient = np.empty(x.shape, np.float64)
            loss = trainer.loss_gradient(samples, x, gradient)
            if last["nit"] == 0 and np.array_equal(x, last["x"]):
                last["fun"] = loss
            return loss, gradient

        def record(intermediate_result):
            last.update(x=intermediate_result.x.copy(), fun=intermediate_result.fun,
                        nit=last["nit"] + 1)

        iprint = 1 if self.verbose is True or self.verbose >= 1 else -1
        try:
            result = scipy.optimize.minimize(
                objective, last["x"].copy(), method="L-BFGS-B", jac=True, callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                         "gtol": self.tol,
                         **_get_additional_lbfgs_options_dict("iprint", iprint)})
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            trainer.params[...] = last["x"]     # the last completed iterate
            self.n_iter_, self.loss_ = last["nit"], last["fun"]
            return
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = result.fun
        trainer.params[...] = result.x


_EXTRA_PARAMS_DOC = """
    Parameters are scikit-learn's (see sklearn.neural_network.{name}), plus:

    dtype : {{None, numpy.float32, numpy.float64}}, default=None
        Floating type of the weights and the training loop. None: the input's
        floating dtype, float64 for any other input, as scikit-learn does.
        float32 is about twice as fast.

    n_threads : int or None, default=None
        BLAS threads for the fit's matrix products. None chooses from the
        products' sizes and the cores this process may use (one thread for
        small layers, or when other fits or processes keep the cores busy);
        an int forces it. The count used is ``n_threads_``, and verbose output
        prints it.

    callback : callable or None, default=None
        Called as ``callback(epoch, model)`` after every epoch of 'sgd' or
        'adam', once ``model.loss_curve_`` (and ``validation_scores_`` with
        early stopping) holds the epoch's value; epochs count from 1 within each
        fit.

    Random numbers come from one numpy.random.Generator made from random_state
    by the seeding rule of fastblas.nn (an int s: numpy.random.default_rng(s)),
    drawn in this order: the initial weights (scikit-learn's Glorot uniform,
    layer by layer, coefficients then intercepts, in float64 and then rounded),
    one integer seeding the early-stopping split, then one shuffle per epoch
    (Generator.shuffle's draws). None of them depends on dtype: the same seed
    gives the same model in float32 and float64, up to float32 rounding. The streams differ from scikit-learn's RandomState,
    so results are close to, not equal to, scikit-learn's. Ctrl-C stops
    training within a fraction of a second with a usable model and a warning,
    for every solver.
"""


class MLPClassifier(_TrainedInCython, _SkMLPClassifier):
    __doc__ = ("Multi-layer perceptron classifier trained (SGD, Adam or L-BFGS) in nogil "
               "Cython.\n" + _EXTRA_PARAMS_DOC.format(name="MLPClassifier"))

    _parameter_constraints = {**_SkMLPClassifier._parameter_constraints,
                              **_EXTRA_CONSTRAINTS}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dtype=None, n_threads=None,
                 callback=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun)
        self.dtype = dtype
        self.n_threads = n_threads
        self.callback = callback


class MLPRegressor(_TrainedInCython, _SkMLPRegressor):
    __doc__ = ("Multi-layer perceptron regressor trained (SGD, Adam or L-BFGS) in nogil "
               "Cython.\n" + _EXTRA_PARAMS_DOC.format(name="MLPRegressor"))

    _parameter_constraints = {**_SkMLPRegressor._parameter_constraints,
                              **_EXTRA_CONSTRAINTS}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, n_threads=None, callback=None):
        super().__init__(
            loss=loss, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            n_iter_no_change=n_iter_no_change, max_fun=max_fun)
        self.dtype = dtype
        self.n_threads = n_threads
        self.callback = callback
