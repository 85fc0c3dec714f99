"""MLPClassifier and MLPRegressor whose epochs run in nogil Cython (fastblas._mlp).

They subclass scikit-learn's estimators of the same names: validation, label
binarisation, weight initialisation (Glorot uniform), prediction, scoring and the
once-per-epoch bookkeeping (loss curve, tolerance-based stopping, the 'adaptive'
and 'invscaling' learning-rate schedules, early stopping on a validation split,
warm start, partial_fit) are scikit-learn's own. Only the minibatch loop of
``_fit_stochastic`` is replaced by :class:`fastblas._mlp.Trainer`, which runs a
whole epoch without the GIL and updates the same arrays (``coefs_``,
``intercepts_``, the optimizer's velocities or moments) in place.

Requires scikit-learn >= 1.7 (the private ``_fit_stochastic`` signature with
``sample_weight``).
"""
import time
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils.fixes import parse_version

from fastblas._mlp import Trainer

__all__ = ["MLPClassifier", "MLPRegressor"]

if parse_version(sklearn.__version__) < parse_version("1.7"):
    raise ImportError("fastblas.nn.MLPClassifier and MLPRegressor need scikit-learn >= 1.7, "
                      f"found {sklearn.__version__}: pip install -U scikit-learn")

_SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Parameters added to scikit-learn's; solver keeps 'lbfgs' in its options so that
# asking for it gets the explanation in _fit rather than a generic message.
_EXTRA_CONSTRAINTS = {
    "dtype": [None, type, str, np.dtype],
    "callback": [None, callable],
}


def _generator(random_state):
    """A numpy.random.Generator for random_state (None, an int or a RandomState).

    A RandomState gives up one draw as the seed, so that consecutive fits sharing
    it differ, as they do in scikit-learn.
    """
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


class _CythonEpochs:
    """What fastblas changes in scikit-learn's BaseMultilayerPerceptron.

    Mixed in before scikit-learn's class, so ``super()`` is scikit-learn.
    """

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

    def _fit(self, X, y, sample_weight=None, incremental=False):
        if self.solver == "lbfgs":
            raise ValueError(
                f"solver='lbfgs' is not supported by fastblas.nn.{type(self).__name__}, "
                "which trains with minibatches: use solver='adam' or solver='sgd' "
                f"(or sklearn.neural_network.{type(self).__name__} for L-BFGS)."
            )
        return super()._fit(X, y, sample_weight=sample_weight, incremental=incremental)

    def _validate_input(self, X, y, incremental, reset):
        dtype = self._training_dtype(reset)     # before super() may reset state
        X, y = super()._validate_input(X, y, incremental, reset)
        if dtype is not None:
            X = X.astype(dtype, copy=False)
        return X, y

    def _initialize(self, y, layer_units, dtype):
        # Weights are drawn (Glorot uniform, by scikit-learn's _init_coef) from a
        # Generator; _fit_stochastic then shuffles with the same Generator.
        self._random_state = _generator(self.random_state)
        super()._initialize(y, layer_units, dtype)

    def _new_optimizer(self):
        params = self.coefs_ + self.intercepts_
        if self.solver == "sgd":
            return SGDOptimizer(params, self.learning_rate_init, self.learning_rate,
                                self.momentum, self.nesterovs_momentum, self.power_t)
        return AdamOptimizer(params, self.learning_rate_init, self.beta_1,
                             self.beta_2, self.epsilon)

    def _make_trainer(self, X, y, sample_weight, batch_size):
        """A Trainer updating coefs_, intercepts_ and the optimizer's state in place.

        The solver's hyper-parameters come from the optimizer, which holds them
        across partial_fit calls as in scikit-learn. Sparse X stays sparse: the
        loop densifies one batch of rows at a time.
        """
        dtype = self.coefs_[0].dtype
        if not sp.issparse(X):
            X = np.ascontiguousarray(X, dtype=dtype)
        loss = self.loss
        if loss == "log_loss" and self.out_activation_ == "logistic":
            loss = "binary_log_loss"
        data = dict(
            X=X, Y=np.ascontiguousarray(y, dtype=dtype),
            sample_weight=(None if sample_weight is None
                           else np.ascontiguousarray(sample_weight, dtype=dtype)),
            hidden_activation=self.activation, output_activation=self.out_activation_,
            loss=loss, batch_size=batch_size, shuffle=self.shuffle, alpha=self.alpha)
        optimizer = self._optimizer
        if isinstance(optimizer, AdamOptimizer):
            return Trainer(self.coefs_, self.intercepts_, solver="adam",
                           learning_rate=optimizer.learning_rate_init,
                           beta_1=optimizer.beta_1, beta_2=optimizer.beta_2,
                           epsilon=optimizer.epsilon, t=optimizer.t,
                           state1=optimizer.ms, state2=optimizer.vs, **data)
        return Trainer(self.coefs_, self.intercepts_, solver="sgd",
                       learning_rate=optimizer.learning_rate, momentum=optimizer.momentum,
                       nesterov=optimizer.nesterov, state1=optimizer.velocities, **data)

    def _fit_stochastic(self, X, y, sample_weight, activations, deltas, coef_grads,
                        intercept_grads, layer_units, incremental):
        # scikit-learn's _fit_stochastic with its minibatch loop replaced by
        # Trainer.run_epoch; the surrounding per-epoch logic is kept as is.
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._new_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not isinstance(self._random_state, np.random.Generator):
            # warm start or partial_fit: no _initialize, so a fresh stream as sklearn
            self._random_state = _generator(self.random_state)
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

        trainer = self._make_trainer(X_train, y_train, sample_weight_train, batch_size)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                self._run_epoch(trainer, rng)
                self.n_iter_ += 1
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f (%.0f samples/s)"
                          % (self.n_iter_, self.loss_, n_samples / self._epoch_seconds))
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

    def _run_epoch(self, trainer, rng):
        """One epoch in Cython; keeps the optimizer's rate and step count in step
        with the trainer even when Ctrl-C stops it part-way."""
        optimizer = self._optimizer
        if self.shuffle:
            trainer.shuffle(rng.bit_generator)
        if self.solver == "sgd":
            trainer.set_learning_rate(optimizer.learning_rate)
        start = time.perf_counter()
        try:
            self.loss_ = trainer.run_epoch()
        finally:
            if self.solver == "adam":
                optimizer.t = trainer.t
                optimizer.learning_rate = trainer.learning_rate
        self._epoch_seconds = max(time.perf_counter() - start, 1e-9)


_EXTRA_PARAMS_DOC = """
    Parameters are scikit-learn's (see sklearn.neural_network.{name}), except
    that solver='lbfgs' is refused (use 'adam' or 'sgd'; max_fun is accepted for
    compatibility and unused), plus:

    dtype : {{None, numpy.float32, numpy.float64}}, default=None
        Floating type of the weights and the training loop. None: the input's
        floating dtype, float64 for any other input, as scikit-learn does.
        float32 is about twice as fast.

    callback : callable or None, default=None
        Called as ``callback(epoch, model)`` after every epoch, once
        ``model.loss_curve_`` (and ``validation_scores_`` with early stopping)
        holds the epoch's value; epochs count from 1 within each fit.

    Shuffling and weight initialisation draw from a numpy.random.Generator
    seeded by random_state (the same seed gives the same model; the streams
    differ from scikit-learn's RandomState, so results are close to, not equal
    to, scikit-learn's). Ctrl-C stops training at a batch boundary with a usable
    model and a warning, as in scikit-learn.
"""


class MLPClassifier(_CythonEpochs, _SkMLPClassifier):
    __doc__ = ("Multi-layer perceptron classifier trained with SGD or Adam in nogil "
               "Cython.\n" + _EXTRA_PARAMS_DOC.format(name="MLPClassifier"))

    _parameter_constraints = {**_SkMLPClassifier._parameter_constraints,
                              **_EXTRA_CONSTRAINTS}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, dtype=None, callback=None):
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
        self.callback = callback


class MLPRegressor(_CythonEpochs, _SkMLPRegressor):
    __doc__ = ("Multi-layer perceptron regressor trained with SGD or Adam in nogil "
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
                 dtype=None, callback=None):
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
        self.callback = callback
