"""JAX contender for the one-hidden-layer MLP configurations: a ``jax.jit``-compiled
epoch, its train steps run by ``jax.lax.scan``, so that XLA fuses the elementwise
work around each matrix product.

    from benchmarks.jax_reference import make_epoch
    epoch, compile_seconds = make_epoch(hidden=100, activation="relu", solver="adam",
                                        batch_size=32, learning_rate=1e-3)
    epoch(X, y)          # one epoch over X (60000 x 784), y the integer labels 0-9

The network and its steps are ``references.NumpyMLP``'s: weights drawn by
``numpy.random.default_rng(seed)`` uniform in +-sqrt(6 / (fan_in + fan_out)) (W1,
then W2), zero biases, softmax cross-entropy averaged over each minibatch (plus
scikit-learn's L2 term ``alpha / 2 * ||W||^2 / batch`` when alpha > 0), plain SGD
or Adam with scikit-learn's bias correction folded into the step size. The
minibatches are taken in order, or, with ``shuffle=True``, in the order of rows
each epoch is given (``epoch(X, y, order)``, a permutation, as scikit-learn's
``shuffle`` draws one per epoch): each step gathers its rows. A last, smaller
minibatch gets its own compiled step.

This module imports without JAX; ``make_epoch`` raises ImportError when JAX is
missing (``pip install jax jaxlib``). ``dtype="float64"`` turns on JAX's
process-wide ``jax_enable_x64``. XLA runs its own CPU thread pool, which
threadpoolctl does not limit; ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false"``
set before JAX is imported keeps it to one thread.
"""
import time

import numpy as np

__all__ = ["make_epoch"]


def _import_jax(dtype):
    try:
        import jax
    except ImportError as exc:
        raise ImportError("the JAX contender needs JAX: pip install jax jaxlib") from exc
    if np.dtype(dtype) == np.float64:
        jax.config.update("jax_enable_x64", True)
    return jax


def _initial_parameters(sizes, dtype, seed):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        params.append(np.zeros(fan_out, dtype=dtype))
    return params      # [W1, b1, W2, b2]


def make_epoch(hidden, activation, solver, batch_size, learning_rate, dtype="float32",
               seed=0, *, alpha=0.0, shuffle=False, n_samples=60000, n_features=784,
               n_classes=10, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """A compiled training epoch of an ``n_features``-``hidden``-``n_classes`` MLP.

    ``activation`` is "tanh" or "relu", ``solver`` "sgd" or "adam". Returns
    ``(epoch, compile_seconds)``: ``epoch(X, y)`` trains the model (held inside)
    for one epoch over X (``n_samples`` x ``n_features``, of ``dtype``) and the
    integer labels y, in minibatches of rows ``order[:batch_size]``,
    ``order[batch_size:2 * batch_size]``, ... when ``shuffle`` (``order`` a
    permutation of the rows, required then), and returns when the update is
    done; ``compile_seconds`` is the time XLA took to compile it, excluded from
    every epoch;
    ``epoch.parameters()`` returns the current [W1, b1, W2, b2].
    """
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
    if solver not in ("sgd", "adam"):
        raise ValueError(f"solver must be 'sgd' or 'adam', got {solver!r}")
    jax = _import_jax(dtype)
    jnp = jax.numpy
    dtype = np.dtype(dtype)
    act = jnp.tanh if activation == "tanh" else jax.nn.relu

    def loss(params, X, labels):
        W1, b1, W2, b2 = params
        logits = act(X @ W1 + b1) @ W2 + b2
        log_p = jax.nn.log_softmax(logits)
        value = -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))
        if alpha > 0:
            value += 0.5 * alpha * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2)) / X.shape[0]
        return value

    grad = jax.grad(loss)

    def step(state, batch):
        params, m, v, t = state
        X, labels = batch
        grads = grad(params, X, labels)
        if solver == "sgd":
            params = [p - learning_rate * g for p, g in zip(params, grads)]
            return (params, m, v, t), None
        t = t + 1
        size = learning_rate * jnp.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = [beta_1 * mi + (1 - beta_1) * g for mi, g in zip(m, grads)]
        v = [beta_2 * vi + (1 - beta_2) * g * g for vi, g in zip(v, grads)]
        params = [p - (size * mi / (jnp.sqrt(vi) + epsilon)).astype(p.dtype)
                  for p, mi, vi in zip(params, m, v)]
        return (params, m, v, t), None

    n_full = n_samples // batch_size
    rest = n_samples - n_full * batch_size

    def full_batches(state, X, y, order):
        if order is None:
            Xb = X[:n_full * batch_size].reshape(n_full, batch_size, n_features)
            yb = y[:n_full * batch_size].reshape(n_full, batch_size)
            return jax.lax.scan(step, state, (Xb, yb))[0]
        rows = order[:n_full * batch_size].reshape(n_full, batch_size)
        return jax.lax.scan(lambda s, r: step(s, (X[r], y[r])), state, rows)[0]

    def last_batch(state, X, y, order):
        rows = slice(n_full * batch_size, None) if order is None else order[n_full * batch_size:]
        return step(state, (X[rows], y[rows]))[0]

    params = [jnp.asarray(p) for p in _initial_parameters(
        [n_features, hidden, n_classes], dtype, seed)]
    moments = [jnp.zeros_like(p) for p in params]
    state = (params, moments, [jnp.zeros_like(p) for p in params], jnp.zeros((), dtype))
    X_spec = jax.ShapeDtypeStruct((n_samples, n_features), dtype)
    y_spec = jax.ShapeDtypeStruct((n_samples,), np.int32)
    order_spec = jax.ShapeDtypeStruct((n_samples,), np.int32) if shuffle else None
    begin = time.perf_counter()
    compiled = [jax.jit(f, donate_argnums=0).lower(state, X_spec, y_spec, order_spec).compile()
                for f in (full_batches, last_batch)[:2 if rest else 1]]
    compile_seconds = time.perf_counter() - begin
    held = {"state": state, "data": None}

    def epoch(X, y, order=None):
        if (order is None) == shuffle:
            raise ValueError("give the epoch's order of rows exactly when shuffle=True")
        if held["data"] is None or held["data"][0] is not X or held["data"][1] is not y:
            # Copied to JAX arrays once per (X, y), not in every timed epoch.
            held["data"] = (X, y, jnp.asarray(np.asarray(X, dtype=dtype)),
                            jnp.asarray(np.asarray(y, dtype=np.int32)))
        X_jax, y_jax = held["data"][2:]
        order = None if order is None else jnp.asarray(np.asarray(order, dtype=np.int32))
        state = held["state"]
        for run in compiled:
            state = run(state, X_jax, y_jax, order)
        held["state"] = jax.block_until_ready(state)

    def parameters():
        """The current [W1, b1, W2, b2] as NumPy arrays."""
        return [np.asarray(p) for p in held["state"][0]]

    epoch.parameters = parameters
    return epoch, compile_seconds
