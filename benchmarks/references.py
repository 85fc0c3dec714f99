"""The two training algorithms fastblas is about, in clean vectorised NumPy.

These are the "before" that the Cython loops of ``fastblas.nn`` are measured
against (``benchmarks/bench_train.py``, the ``fastblas`` demo), and a model the
command line can train when the Cython estimators are not available. They follow
scikit-learn's names for what they learn (``components_``, ``coefs_``, ...) and
take a ``callback(epoch, model)`` (epochs count from 1) like the fastblas
estimators do, so that the same code can drive either; ``epoch`` runs one pass
over the data, for timing.

NumpyRBM
    Bernoulli RBM, contrastive divergence CD-1 with momentum, the classic MNIST
    recipe (784 visible, 500 hidden, minibatch 100, lr 0.1, momentum 0.9).
NumpyMLP
    784-500-10 perceptron, tanh hidden units, softmax cross-entropy output, plain
    minibatch SGD (the MNIST network of the classic Theano tutorial, minibatch 100);
    also relu units and Adam, for the other configurations of the harness.

Both run in float32 or float64 (``dtype``) and draw their randomness from
``numpy.random.default_rng(random_state)``.
"""
import numpy as np
from scipy.special import expit

__all__ = ["NumpyRBM", "NumpyMLP", "minibatches", "reconstruction_error"]


def _as_float_matrix(X, dtype, name="X"):
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {X.shape}")
    return X


def minibatches(n_samples, batch_size):
    """The slices of consecutive minibatches over ``n_samples`` rows (the last may be short)."""
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def reconstruction_error(model, X):
    """Mean squared error per pixel of the mean-field reconstruction of X.

    v -> p(h|v) -> p(v|p(h|v)), with any fitted RBM exposing scikit-learn's
    ``components_`` (n_hidden, n_visible), ``intercept_hidden_`` and
    ``intercept_visible_`` (NumpyRBM, fastblas.nn.BernoulliRBM, sklearn's).
    """
    W = model.components_
    X = np.asarray(X, dtype=W.dtype)
    p_h = expit(X @ W.T + model.intercept_hidden_)
    p_v = expit(p_h @ W + model.intercept_visible_)
    return float(np.mean((X - p_v) ** 2))


class NumpyRBM:
    """Bernoulli-Bernoulli RBM trained by CD-1 with momentum, in NumPy.

    Per minibatch v0 (Hinton, "A practical guide to training RBMs", 2010):

        h0   = sample(logistic(v0 W + b_h))
        v1   = sample(logistic(h0 W' + b_v))
        p_h1 = logistic(v1 W + b_h)
        grad = (v0' h0 - v1' p_h1) / batch,  mean(h0 - p_h1),  mean(v0 - v1)
        speed = momentum * speed + grad;  param += learning_rate * speed

    W is stored (n_visible, n_hidden), the layout two of the three forward
    products want; ``components_`` is its transpose (a view), as in scikit-learn.
    """

    def __init__(self, n_components=500, learning_rate=0.1, momentum=0.9, batch_size=100,
                 n_iter=10, dtype=np.float32, random_state=None, callback=None):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.dtype = dtype
        self.random_state = random_state
        self.callback = callback

    @property
    def components_(self):
        return self.weights_.T

    def _initialize(self, n_features):
        self._rng = np.random.default_rng(self.random_state)
        dtype = np.dtype(self.dtype)
        self.weights_ = (0.01 * self._rng.standard_normal((n_features, self.n_components))
                         ).astype(dtype)
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self._speeds = [np.zeros_like(p) for p in self._params()]
        self.n_features_in_ = n_features

    def _params(self):
        return [self.weights_, self.intercept_hidden_, self.intercept_visible_]

    def fit(self, X, y=None):
        """Initialise, train ``n_iter`` epochs, calling ``callback(epoch, self)`` after each."""
        X = _as_float_matrix(X, self.dtype)
        self._initialize(X.shape[1])
        for epoch in range(1, self.n_iter + 1):
            self.epoch(X)
            if self.callback is not None:
                self.callback(epoch, self)
        return self

    def epoch(self, X):
        """One pass of CD-1 updates over X in minibatches (initialising if needed)."""
        X = _as_float_matrix(X, self.dtype)
        if not hasattr(self, "weights_"):
            self._initialize(X.shape[1])
        for batch in minibatches(X.shape[0], self.batch_size):
            self._cd1_update(X[batch])
        return self

    def _sample(self, p):
        return (self._rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)

    def _cd1_update(self, v0):
        W, b_h, b_v = self._params()
        h0 = self._sample(expit(v0 @ W + b_h))
        v1 = self._sample(expit(h0 @ W.T + b_v))
        p_h1 = expit(v1 @ W + b_h)
        n = v0.shape[0]
        grads = ((v0.T @ h0 - v1.T @ p_h1) / n, (h0 - p_h1).mean(axis=0),
                 (v0 - v1).mean(axis=0))
        for param, speed, grad in zip(self._params(), self._speeds, grads):
            speed *= self.momentum
            speed += grad
            param += self.learning_rate * speed

    def transform(self, X):
        """Hidden unit activation probabilities p(h=1|v)."""
        X = _as_float_matrix(X, self.dtype)
        return expit(X @ self.weights_ + self.intercept_hidden_)


class NumpyMLP:
    """One-hidden-layer perceptron with a softmax output, minibatch SGD or Adam.

    Per minibatch (X, Y one-hot), with the mean cross-entropy loss L:

        H = f(X W1 + b1),  P = softmax(H W2 + b2)     f = tanh (default) or relu
        dZ2 = (P - Y) / batch          (gradient of L w.r.t. the output logits)
        dZ1 = (dZ2 W2') * f'           (tanh' = 1 - H**2, relu' = [H > 0])
        grads: H' dZ2, sum(dZ2), X' dZ1, sum(dZ1)

    ``solver="sgd"``: param -= learning_rate * grad (plain SGD, no momentum).
    ``solver="adam"``: Kingma and Ba (2015), Algorithm 1, with the bias correction
    folded into the step size as scikit-learn does:
        m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g**2,
        param -= lr sqrt(1 - b2**t) / (1 - b1**t) * m / (sqrt(v) + eps)

    Weights start uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio
    2010, as in the Theano tutorial and scikit-learn), biases at zero.
    With the defaults it is the Theano tutorial's 784-500-10 tanh network.
    """

    def __init__(self, n_hidden=500, learning_rate=0.1, batch_size=100, max_iter=10,
                 activation="tanh", solver="sgd", dtype=np.float32, random_state=None,
                 callback=None, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.n_hidden = n_hidden
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.activation = activation
        self.solver = solver
        self.dtype = dtype
        self.random_state = random_state
        self.callback = callback
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _initialize(self, n_features, classes):
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {self.activation!r}")
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam', got {self.solver!r}")
        rng = np.random.default_rng(self.random_state)
        dtype = np.dtype(self.dtype)
        self.classes_ = classes
        sizes = [n_features, self.n_hidden, len(classes)]
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            self.coefs_.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            self.intercepts_.append(np.zeros(fan_out, dtype=dtype))
        if self.solver == "adam":
            self._moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self._params()]
            self._t = 0
        self.loss_curve_ = []
        self.n_features_in_ = n_features

    def _params(self):
        """Parameters in the order _gradients returns their gradients."""
        (W1, W2), (b1, b2) = self.coefs_, self.intercepts_
        return [W1, b1, W2, b2]

    def fit(self, X, y):
        """Initialise, train ``max_iter`` epochs, calling ``callback(epoch, self)`` after each."""
        X = _as_float_matrix(X, self.dtype)
        y = np.asarray(y)
        self._initialize(X.shape[1], np.unique(y))
        for epoch in range(1, self.max_iter + 1):
            self.epoch(X, y)
            if self.callback is not None:
                self.callback(epoch, self)
        return self

    def epoch(self, X, y):
        """One pass of steps over (X, y) in order; appends the mean loss to ``loss_curve_``."""
        X = _as_float_matrix(X, self.dtype)
        if not hasattr(self, "coefs_"):
            self._initialize(X.shape[1], np.unique(y))
        y = np.asarray(y)
        if not np.isin(y, self.classes_).all():
            raise ValueError("y holds labels the model was not initialised with")
        targets = np.searchsorted(self.classes_, y)
        total = sum(self._step(X[batch], targets[batch])
                    for batch in minibatches(X.shape[0], self.batch_size))
        self.loss_curve_.append(total / X.shape[0])
        return self

    def _forward(self, X):
        """Hidden activations H and output logits, shifted so that each row's max is 0."""
        (W1, W2), (b1, b2) = self.coefs_, self.intercepts_
        Z1 = X @ W1 + b1
        H = np.tanh(Z1) if self.activation == "tanh" else np.maximum(Z1, 0)
        logits = H @ W2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        return H, logits

    def _gradients(self, X, targets):
        """Summed cross-entropy loss of a minibatch, and the gradients of its mean."""
        W2 = self.coefs_[1]
        n = X.shape[0]
        rows = np.arange(n)
        H, logits = self._forward(X)
        exp = np.exp(logits)
        norm = exp.sum(axis=1)
        loss = float(np.sum(np.log(norm) - logits[rows, targets]))   # -log softmax
        dZ2 = exp / norm[:, None]
        dZ2[rows, targets] -= 1
        dZ2 /= n
        dH = dZ2 @ W2.T
        dZ1 = dH * (1 - H * H) if self.activation == "tanh" else dH * (H > 0)
        return loss, [X.T @ dZ1, dZ1.sum(axis=0), H.T @ dZ2, dZ2.sum(axis=0)]

    def _step(self, X, targets):
        """One SGD or Adam step on a minibatch; returns the summed cross-entropy loss."""
        loss, grads = self._gradients(X, targets)
        lr = self.learning_rate
        if self.solver == "sgd":
            for param, grad in zip(self._params(), grads):
                param -= lr * grad
            return loss
        self._t += 1
        b1, b2 = self.beta_1, self.beta_2
        step = lr * np.sqrt(1 - b2 ** self._t) / (1 - b1 ** self._t)
        for param, grad, (m, v) in zip(self._params(), grads, self._moments):
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            param -= step * m / (np.sqrt(v) + self.epsilon)
        return loss

    def predict_proba(self, X):
        X = _as_float_matrix(X, self.dtype)
        exp = np.exp(self._forward(X)[1])
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X):
        X = _as_float_matrix(X, self.dtype)
        return self.classes_[np.argmax(self._forward(X)[1], axis=1)]

    def score(self, X, y):
        """Mean accuracy."""
        return float(np.mean(self.predict(X) == y))
