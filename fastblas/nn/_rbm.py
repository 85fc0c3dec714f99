"""Bernoulli RBM whose training epochs run in nogil Cython (``fastblas._rbm``)."""
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from fastblas import _rbm
from fastblas.nn._common import (
    blas_threads, choose_blas_threads, describe_blas_threads, dot, make_generator,
)

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6
    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)

__all__ = ["BernoulliRBM"]


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli Restricted Boltzmann Machine trained by contrastive divergence.

    A drop-in for :class:`sklearn.neural_network.BernoulliRBM`: the same
    parameters, defaults, methods and fitted attributes, with every training
    minibatch (the BLAS products, logistic units, Bernoulli sampling and the
    parameter update) of an epoch run in one nogil Cython call. The
    defaults train by persistent contrastive divergence (PCD, also called
    stochastic maximum likelihood) as scikit-learn does; ``momentum``,
    ``weight_decay``, ``cd_k`` and ``persistent=False`` give the classic CD-k
    recipe (Hinton 2010: ``momentum=0.9, persistent=False, batch_size=100``).

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        The learning rate for weight updates.
    batch_size : int, default=10
        Number of examples per minibatch, and number of persistent chains.
    n_iter : int, default=10
        Number of sweeps (epochs) over the training data.
    verbose : int, default=0
        Print, after every epoch, the pseudo-likelihood (as scikit-learn does),
        the epoch's time, its samples per second and the BLAS thread count.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``numpy.random.Generator`` that initialises the weights and
        draws every Gibbs sample (through its ``bitgen_t`` inside the nogil
        loop), and the corruption in :meth:`score_samples`. An int gives the
        same model run after run, in float32 and float64 alike (up to rounding).
    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates (0 = plain SGD, as scikit-learn).
    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases), added to the gradient as
        ``-weight_decay * components_``.
    cd_k : int, default=1
        Number of Gibbs steps per update.
    persistent : bool, default=True
        True: persistent chains (``batch_size`` of them, kept in ``h_samples_``
        between updates). False: plain CD-k, chains started from the minibatch.
    dtype : {np.float32, np.float64, "float32", "float64"}, numpy dtype or None, default=None
        Precision of the model. None: the input's floating dtype, float64 for
        any other input (as scikit-learn does).
    callback : callable or None, default=None
        ``callback(epoch, model)`` is called after every epoch of :meth:`fit`
        (epochs count from 1) with the model in a usable state.
    n_threads : int or None, default=None
        BLAS threads for the training products. None chooses from the product
        sizes and the idle cores this process may use (one thread for small
        products, on a busy machine, or in a thread of joblib's threading
        backend); an int forces the count. The limit (threadpoolctl) holds for
        the fit only; the count used is ``n_threads_``.
    warm_start : bool, default=False
        When True and the model is fitted, :meth:`fit` continues from the current
        weights, chains, momentum and random stream instead of starting anew, as
        scikit-learn's MLPs do: ``fit`` with ``n_iter=1`` is then one more epoch.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix (Fortran-ordered: its transpose is the C-ordered matrix
        the training loop works on).
    intercept_hidden_ : ndarray of shape (n_components,)
    intercept_visible_ : ndarray of shape (n_features,)
    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the negative chains after the last update.
    n_threads_ : int
        BLAS threads of the last fit or partial_fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has feature names that are all strings.

    Notes
    -----
    The gradient is the difference of the data mean and the chain mean: when the
    last minibatch is smaller than ``batch_size``, its negative term is averaged
    over the ``batch_size`` chains (scikit-learn divides both terms by the
    minibatch size). Sparse input is accepted and densified for training.
    Ctrl-C during :meth:`fit` stops at a minibatch boundary within about 50 ms
    with a warning and leaves the model of the last complete update.

    The Generator is ``np.random.default_rng(random_state)`` for an int, else
    ``np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))``,
    made once per :meth:`fit` that starts anew (or on the first :meth:`partial_fit`); the weights
    start as its float64 ``normal(0, 0.01)`` draws, rounded to the model's dtype,
    and the Gibbs draws (32-bit integers compared with each unit's probability)
    follow the order documented in ``fastblas/_rbm.pyx.tp``.

    The fits release the GIL for whole epochs: under
    ``joblib.parallel_config(backend="threading")``, ``GridSearchCV(n_jobs=k)``
    trains k models on k cores without starting processes.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "cd_k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "dtype": [None, StrOptions({"float32", "float64"}),
                  Options(type, {np.float32, np.float64}),
                  Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)})],
        "callback": [None, callable],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        momentum=0.0,
        weight_decay=0.0,
        cd_k=1,
        persistent=True,
        dtype=None,
        callback=None,
        n_threads=None,
        warm_start=False,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.cd_k = cd_k
        self.persistent = persistent
        self.dtype = dtype
        self.callback = callback
        self.n_threads = n_threads
        self.warm_start = warm_start

    # ------------------------------------------------------------------
    # Inference (NumPy, the products through the fits' BLAS: _common.dot)
    # ------------------------------------------------------------------

    def transform(self, X):
        """Hidden-unit activation probabilities P(h=1|v=X), shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=(np.float64, np.float32))
        return self._mean_hiddens(X)

    def _mean_hiddens(self, v):
        p = dot(v, self.components_.T)
        p += self.intercept_hidden_
        return expit(p, out=p)

    def _mean_visibles(self, h):
        p = dot(h, self.components_)
        p += self.intercept_visible_
        return expit(p, out=p)

    def _free_energy(self, v):
        """F(v) = -a'v - sum_j log(1 + exp(b_j + (v W)_j))."""
        return -dot(v, self.intercept_visible_) - np.logaddexp(
            0, dot(v, self.components_.T) + self.intercept_hidden_
        ).sum(axis=1)

    def _sample_hiddens(self, v, rng):
        """A sample of the hidden units given ``v`` (scikit-learn's private helper)."""
        return _sample(_as_generator(rng), self._mean_hiddens(v))

    def _sample_visibles(self, h, rng):
        """A sample of the visible units given ``h`` (scikit-learn's private helper)."""
        return _sample(_as_generator(rng), self._mean_visibles(h))

    def gibbs(self, v):
        """One Gibbs step from the visible states ``v``; returns the new visible sample (bool)."""
        check_is_fitted(self)
        v = validate_data(self, v, accept_sparse="csr", reset=False,
                          dtype=(np.float64, np.float32))
        rng = self._get_generator()
        h = self._sample_hiddens(v, rng)
        return self._sample_visibles(h.astype(self.components_.dtype), rng)

    def score_samples(self, X):
        """Pseudo-likelihood of X (as scikit-learn computes it).

        Not deterministic unless ``random_state`` is set: one randomly chosen
        feature of each sample is flipped, and the result is
        ``n_features * log(logistic(F(v_flipped) - F(v)))``.
        """
        check_is_fitted(self)
        v = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=(np.float64, np.float32))
        rng = make_generator(self.random_state)
        ind = (np.arange(v.shape[0]), rng.integers(0, v.shape[1], v.shape[0]))
        if sp.issparse(v):
            data = np.asarray(-2 * v[ind] + 1).ravel()
            v_ = v + sp.csr_matrix((data, ind), shape=v.shape)
        else:
            v_ = v.copy()
            v_[ind] = 1 - v_[ind]
        fe = self._free_energy(v)
        fe_ = self._free_energy(v_)
        # log(logistic(x)) = -log(1 + exp(-x))
        return -v.shape[1] * np.logaddexp(0, -(fe_ - fe))

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to X (n_samples, n_features) by ``n_iter`` epochs of CD-k."""
        warm = self.warm_start and hasattr(self, "components_")
        X = validate_data(self, X, accept_sparse="csr", reset=not warm,
                          dtype=(np.float64, np.float32))
        dtype = self.components_.dtype if warm else self._model_dtype(X.dtype)
        X = self._training_array(X, dtype)
        if warm:
            self._get_generator()
        else:
            self._generator = make_generator(self.random_state)
            self._initialize(X.shape[1], dtype)
        self._own_parameters(dtype)

        n_samples = X.shape[0]
        bounds = np.append(np.arange(0, n_samples, self.batch_size), n_samples).astype(np.intp)
        batch_rows = min(self.batch_size, n_samples)
        trainer = self._trainer(self.h_samples_, batch_rows)
        threads = self.n_threads_ = self._blas_thread_count(batch_rows, len(self.h_samples_))
        with blas_threads(threads):
            try:
                for epoch in range(1, self.n_iter + 1):
                    begin = time.perf_counter()
                    trainer.epoch(X, bounds)
                    if self.verbose:
                        self._report_epoch(epoch, X, time.perf_counter() - begin, threads)
                    if self.callback is not None:
                        self.callback(epoch, self)
            except KeyboardInterrupt:
                warnings.warn("Training interrupted by user; the model holds the last "
                              "complete minibatch update.")
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One CD-k update with all of X as the minibatch (as scikit-learn does)."""
        first_pass = not hasattr(self, "components_")
        X = validate_data(self, X, accept_sparse="csr", reset=first_pass,
                          dtype=(np.float64, np.float32))
        dtype = self._model_dtype(X.dtype) if first_pass else self.components_.dtype
        X = self._training_array(X, dtype)
        self._get_generator()
        if first_pass:
            self._initialize(X.shape[1], dtype)
        self._own_parameters(dtype)

        n_samples = X.shape[0]
        chains = self.h_samples_
        if not self.persistent and n_samples > len(chains):
            chains = np.zeros((n_samples, self.n_components), dtype=dtype)
        trainer = self._trainer(chains, n_samples)
        self.n_threads_ = self._blas_thread_count(n_samples, len(chains))
        with blas_threads(self.n_threads_):
            trainer.epoch(X, np.array([0, n_samples], dtype=np.intp))
        if chains is not self.h_samples_:
            self.h_samples_[...] = chains[: len(self.h_samples_)]
        return self

    def _model_dtype(self, input_dtype):
        return np.dtype(input_dtype if self.dtype is None else self.dtype)

    @staticmethod
    def _training_array(X, dtype):
        """X as the C-ordered dense array of the model's dtype the loop reads."""
        if sp.issparse(X):
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=dtype)

    def _get_generator(self):
        if not hasattr(self, "_generator"):
            self._generator = make_generator(self.random_state)
        return self._generator

    def _initialize(self, n_features, dtype):
        rng = self._generator
        self.components_ = np.asarray(
            rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype, order="F"
        )
        self._n_features_out = self.n_components
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=dtype)
        self._velocities = None

    def _own_parameters(self, dtype):
        """Make the fitted arrays writable, of ``dtype`` and in the loop's layout.

        They may have been set or loaded by the user (read-only, C-ordered, ...);
        ``components_`` must be Fortran-ordered so that ``components_.T`` is C-ordered.
        """
        def owned(a, order):
            flag = "F_CONTIGUOUS" if order == "F" else "C_CONTIGUOUS"
            if a.dtype == dtype and a.flags[flag] and a.flags.writeable:
                return a
            return np.array(a, dtype=dtype, order=order)

        self.components_ = owned(self.components_, "F")
        self.intercept_hidden_ = owned(self.intercept_hidden_, "C")
        self.intercept_visible_ = owned(self.intercept_visible_, "C")
        self.h_samples_ = owned(self.h_samples_, "C")
        if self.momentum == 0:
            self._velocities = None
        elif getattr(self, "_velocities", None) is None:   # momentum * the last step
            self._velocities = (np.zeros(self.components_.T.shape, dtype=dtype),
                                np.zeros_like(self.intercept_hidden_),
                                np.zeros_like(self.intercept_visible_))

    def _trainer(self, chains, max_batch_rows):
        """The engine of the model's dtype, over the fitted arrays (updated in place)."""
        trainer = _rbm.TRAINERS[self.components_.dtype]
        return trainer(self.components_.T, self.intercept_hidden_, self.intercept_visible_,
                       chains, self._velocities, self._generator, float(self.learning_rate),
                       float(self.momentum), float(self.weight_decay), int(self.cd_k),
                       bool(self.persistent), max_batch_rows)

    def _blas_thread_count(self, batch_rows, n_chains):
        """The BLAS threads of a fit: ``n_threads``, or chosen from its products."""
        n_features, n_components = self.components_.T.shape
        chain_rows = n_chains if self.persistent else batch_rows
        products = [(batch_rows, n_components, n_features),          # p(h | v0)
                    (chain_rows, n_features, n_components),          # p(v | h)
                    (n_features, n_components, batch_rows + chain_rows)]   # gradient
        return choose_blas_threads(self.n_threads, products)

    def _report_epoch(self, epoch, X, seconds, threads):
        print("[%s] Iteration %d, pseudo-likelihood = %.2f, time = %.2fs, %.0f samples/s, %s"
              % (type(self).__name__, epoch, self.score_samples(X).mean(), seconds,
                 X.shape[0] / seconds, describe_blas_threads(threads, self.n_threads)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}


def _as_generator(rng):
    return rng if isinstance(rng, np.random.Generator) else make_generator(rng)


def _sample(rng, p):
    """Bernoulli samples of the probabilities ``p``, drawn as the training loop draws
    them: 32-bit integers r (two per 64-bit draw, low half first), 1 when r < p * 2**32."""
    raw = rng.bit_generator.random_raw((p.size + 1) // 2)
    draws = np.empty(2 * raw.size, dtype=np.uint32)
    draws[0::2] = raw & 0xFFFFFFFF
    draws[1::2] = raw >> 32
    return draws[:p.size].reshape(p.shape) < np.ldexp(p, 32)
