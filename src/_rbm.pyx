# cython: language_level=3
"""Contrastive-divergence training of a Bernoulli-Bernoulli RBM, minibatches in nogil C.

The estimator is ``fastblas.nn.BernoulliRBM``; this module is its private engine.

Model (Hinton, "A Practical Guide to Training RBMs", 2010, eqs. 7-8), visible units
v in {0, 1}^n_features, hidden units h in {0, 1}^n_components::

    p(h_j = 1 | v) = logistic(b_j + sum_i v_i W_ij)      b: intercept_hidden_
    p(v_i = 1 | h) = logistic(a_i + sum_j W_ij h_j)      a: intercept_visible_

``W`` is stored (n_features, n_components), row-major: ``components_.T``, which is
how the estimator keeps ``components_`` (Fortran order, as scikit-learn does). That
is the layout the hidden-unit product ``V @ W`` wants, and it runs 1 + k times per
batch against k times for the visible product ``H @ W.T``.

One update from a minibatch V0 of m rows, with c negative chains (c = batch_size
persistent chains for PCD, Tieleman 2008; c = m chains started from the data for
plain CD-k)::

    H0 = p(h | V0)                                   positive phase (probabilities)
    CD only: S = sample(H0)                          the chains start from the data
    for t = 1 .. k:
        Vt = sample(p(v | S))                        c rows
        Ht = p(h | Vt)
        if t < k or persistent: S = sample(Ht)      PCD keeps S for the next batch
    dW = V0' H0 / m - Vk' Hk / c,  db = mean(H0) - mean(Hk),  da = mean(V0) - mean(Vk)
    velocity <- momentum * velocity + learning_rate * (dW - weight_decay * W)
    W <- W + velocity                                 (biases alike, without decay)

With momentum = 0 there is no velocity: W <- (1 - lr * weight_decay) W + lr * dW is a
single gemm with beta = 1 - lr * weight_decay. The two gradient products fuse into one
gemm with k = m + c: the scratch stacks [V0; Vk] and [H0; -(m / c) Hk], and the
product is taken with alpha = lr / m. The bias gradients are two gemv's over the same
stacks.

Random draws, in this order for every batch (the tests reproduce them with a copy of
the BitGenerator): CD only, m x n_components uniforms for S; then for t = 1 .. k,
c x n_features uniforms for Vt, and (if t < k or persistent) c x n_components for S.
Every block is drawn in row-major order, one uniform per unit, and a unit is 1 when
its uniform is < its probability. A uniform is ``Generator.random(dtype=float32)``'s
draw for float32 models (``random_standard_uniform_f``) and ``Generator.random()``'s
for float64 ones.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.string cimport memcpy
cimport numpy as cnp
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport (
    random_standard_uniform_fill,
    random_standard_uniform_fill_f,
)

import numpy as np

from fastblas.cyblas cimport axpy, floating, gemm, gemv, scal
from _nn_common cimport UnaryLoop, apply_inplace, find_unary_loop


# ---------------------------------------------------------------------------
# nogil phases of one update
# ---------------------------------------------------------------------------

cdef UnaryLoop EXP_FLOAT = find_unary_loop(np.exp, cnp.NPY_FLOAT)
cdef UnaryLoop EXP_DOUBLE = find_unary_loop(np.exp, cnp.NPY_DOUBLE)


cdef void logistic_rows(int rows, int cols, floating *z, floating *bias) noexcept nogil:
    """z[i, j] = logistic(z[i, j] + bias[j]) = 1 / (1 + exp(-z[i, j] - bias[j])).

    Three passes over a row-major rows x cols block that stays in cache: the
    negated pre-activation, NumPy's SIMD exp, the reciprocal (exp overflowing to
    inf gives the right limit, 0). The first and last passes vectorise.
    """
    cdef Py_ssize_t i, j, n = rows * <Py_ssize_t>cols
    cdef floating one = 1
    for i in range(rows):
        for j in range(cols):
            z[i * cols + j] = -(z[i * cols + j] + bias[j])
    apply_inplace(EXP_FLOAT if floating is float else EXP_DOUBLE, z, n)
    for i in range(n):
        z[i] = one / (one + z[i])


cdef void sample_bernoulli(Py_ssize_t n, floating *p, floating *out, floating *uniforms,
                           bitgen_t *rng) noexcept nogil:
    """out[i] = 1 if u[i] < p[i] else 0, u drawn in one call (see the module docstring).

    Drawing the whole block first keeps the comparison loop free of calls and
    branches, so that it vectorizes; ``out`` may be ``p``.
    """
    cdef Py_ssize_t i
    if floating is float:
        random_standard_uniform_fill_f(rng, n, uniforms)
    else:
        random_standard_uniform_fill(rng, n, uniforms)
    for i in range(n):
        out[i] = uniforms[i] < p[i]


cdef void hidden_phase(int rows, int n_visible, int n_hidden, floating *v,
                       floating *weights, floating *hidden_bias, floating *h,
                       floating *sample, floating *uniforms, bitgen_t *rng) noexcept nogil:
    """h = p(h | v) for `rows` rows of v; also sample the units into `sample` unless NULL."""
    gemm(c'N', c'N', rows, n_hidden, n_visible, 1.0, v, n_visible,
         weights, n_hidden, 0.0, h, n_hidden)
    logistic_rows(rows, n_hidden, h, hidden_bias)
    if sample != NULL:
        sample_bernoulli(rows * <Py_ssize_t> n_hidden, h, sample, uniforms, rng)


cdef void sample_visible(int rows, int n_visible, int n_hidden, floating *h,
                         floating *weights, floating *visible_bias, floating *v,
                         floating *uniforms, bitgen_t *rng) noexcept nogil:
    """v = sample(p(v | h)) for `rows` rows of h."""
    gemm(c'N', c'T', rows, n_visible, n_hidden, 1.0, h, n_hidden,
         weights, n_hidden, 0.0, v, n_visible)
    logistic_rows(rows, n_visible, v, visible_bias)
    sample_bernoulli(rows * <Py_ssize_t> n_visible, v, v, uniforms, rng)


cdef void add_velocity(Py_ssize_t n, floating decay, floating *velocity,
                       floating *params) noexcept nogil:
    """velocity -= decay * params; params += velocity (one pass)."""
    cdef Py_ssize_t i
    for i in range(n):
        velocity[i] -= decay * params[i]
        params[i] += velocity[i]


# ---------------------------------------------------------------------------
# Python entry points (called by fastblas.nn.BernoulliRBM)
# ---------------------------------------------------------------------------

cdef class Workspace:
    """Scratch for one fit, allocated once and reused by every batch.

    ``visible`` and ``hidden`` stack the positive rows (at most ``max_batch_rows``)
    over the negative chains (``n_chains``); ``ones`` and ``row_weights`` are the
    vectors the bias-gradient gemv's multiply them by; ``uniforms`` holds one
    block of random draws.
    """
    cdef readonly object visible, hidden, ones, row_weights, uniforms

    def __init__(self, Py_ssize_t max_batch_rows, Py_ssize_t n_chains,
                 Py_ssize_t n_features, Py_ssize_t n_components, dtype):
        rows = max_batch_rows + n_chains
        self.visible = np.zeros((rows, n_features), dtype=dtype)
        self.hidden = np.zeros((rows, n_components), dtype=dtype)
        self.ones = np.ones(rows, dtype=dtype)
        self.row_weights = np.zeros(rows, dtype=dtype)
        self.uniforms = np.zeros(max(max_batch_rows, n_chains) * max(n_features, n_components),
                                 dtype=dtype)


cdef bitgen_t *bitgen_pointer(bit_generator) except NULL:
    capsule = bit_generator.capsule
    if not PyCapsule_IsValid(capsule, "BitGenerator"):
        raise ValueError("bit_generator is not a numpy BitGenerator")
    return <bitgen_t *> PyCapsule_GetPointer(capsule, "BitGenerator")


def train_batches(const floating[:, ::1] X, const Py_ssize_t[::1] batch_bounds,
                  Py_ssize_t first, Py_ssize_t stop,
                  floating[:, ::1] weights, floating[::1] hidden_bias,
                  floating[::1] visible_bias, floating[:, ::1] chains,
                  velocities, Workspace workspace,
                  double learning_rate, double momentum, double weight_decay,
                  int cd_k, bint persistent, bit_generator):
    """Run the CD-k updates of batches ``first .. stop - 1`` in one nogil block.

    Batch b is the rows ``batch_bounds[b] : batch_bounds[b + 1]`` of X. ``weights``
    (n_features, n_components), the biases, ``chains`` (n_chains, n_components, the
    persistent hidden states) and, when momentum > 0, ``velocities`` (a tuple shaped
    like (weights, hidden_bias, visible_bias)) are updated in place. The draws come
    from ``bit_generator`` under its lock. See the module docstring for the math.
    """
    cdef int n_features = weights.shape[0]
    cdef int n_components = weights.shape[1]
    cdef int n_chains = chains.shape[0]
    cdef floating[:, ::1] visible = workspace.visible
    cdef floating[:, ::1] hidden = workspace.hidden
    cdef floating[::1] ones = workspace.ones
    cdef floating[::1] row_weights = workspace.row_weights
    cdef floating[::1] uniforms = workspace.uniforms
    cdef floating[:, ::1] weights_velocity
    cdef floating[::1] hidden_velocity, visible_velocity
    cdef floating *w_vel = NULL
    cdef floating *b_vel = NULL
    cdef floating *a_vel = NULL
    cdef bitgen_t *rng = bitgen_pointer(bit_generator)
    cdef Py_ssize_t b, i, start, m, c, t
    cdef floating alpha, neg_scale, beta, decay = learning_rate * weight_decay
    cdef floating *v_neg
    cdef floating *h_neg
    cdef bint use_momentum = momentum != 0

    # Shapes are checked here, once per call, so that no caller mistake reaches C.
    if X.shape[1] != n_features or chains.shape[1] != n_components:
        raise ValueError("X, weights and chains have inconsistent shapes")
    if hidden_bias.shape[0] != n_components or visible_bias.shape[0] != n_features:
        raise ValueError("bias lengths do not match the weights")
    if visible.shape[1] != n_features or hidden.shape[1] != n_components:
        raise ValueError("workspace does not match the weights")
    if not 0 <= first <= stop < batch_bounds.shape[0] or cd_k < 1:
        raise ValueError("bad batch range or cd_k")
    for b in range(first, stop):
        m = batch_bounds[b + 1] - batch_bounds[b]
        c = n_chains if persistent else m
        if batch_bounds[b] < 0 or m < 1 or batch_bounds[b + 1] > X.shape[0]:
            raise ValueError("batch_bounds out of range")
        if (m + c > visible.shape[0] or (not persistent and m > n_chains)
                or max(m, c) * max(n_features, n_components) > uniforms.shape[0]):
            raise ValueError("workspace or chains too small for the batches")
    if use_momentum:
        weights_velocity, hidden_velocity, visible_velocity = velocities
        if (weights_velocity.shape[0] != n_features
                or weights_velocity.shape[1] != n_components
                or hidden_velocity.shape[0] != n_components
                or visible_velocity.shape[0] != n_features):
            raise ValueError("velocities do not match the weights")
        w_vel = &weights_velocity[0, 0]
        b_vel = &hidden_velocity[0]
        a_vel = &visible_velocity[0]

    with bit_generator.lock, nogil:
        for b in range(first, stop):
            start = batch_bounds[b]
            m = batch_bounds[b + 1] - start
            c = n_chains if persistent else m
            v_neg = &visible[m, 0]
            h_neg = &hidden[m, 0]
            memcpy(&visible[0, 0], &X[start, 0], m * n_features * sizeof(floating))

            # Positive phase; plain CD starts its chains from a sample of it.
            hidden_phase(m, n_features, n_components, &visible[0, 0], &weights[0, 0],
                         &hidden_bias[0], &hidden[0, 0],
                         NULL if persistent else &chains[0, 0], &uniforms[0], rng)
            # k Gibbs steps, then h_neg = -(m / c) p(h | Vk).
            for t in range(1, cd_k + 1):
                sample_visible(c, n_features, n_components, &chains[0, 0],
                               &weights[0, 0], &visible_bias[0], v_neg, &uniforms[0], rng)
                hidden_phase(c, n_features, n_components, v_neg, &weights[0, 0],
                             &hidden_bias[0], h_neg,
                             &chains[0, 0] if t < cd_k or persistent else NULL,
                             &uniforms[0], rng)
            neg_scale = -(<floating> m) / c
            for i in range(c):
                scal(n_components, neg_scale, &h_neg[i * n_components], 1)

            # Update: one gemm with k = m + c for dW, two gemv's for the biases.
            for i in range(m):
                row_weights[i] = 1
            for i in range(m, m + c):
                row_weights[i] = neg_scale
            alpha = learning_rate / m
            if use_momentum:
                gemm(c'T', c'N', n_features, n_components, m + c, alpha,
                     &visible[0, 0], n_features, &hidden[0, 0], n_components,
                     <floating> momentum, w_vel, n_components)
                add_velocity(<Py_ssize_t> n_features * n_components, decay, w_vel,
                             &weights[0, 0])
                gemv(c'T', m + c, n_components, alpha, &hidden[0, 0], n_components,
                     &ones[0], 1, <floating> momentum, b_vel, 1)
                axpy(n_components, 1.0, b_vel, 1, &hidden_bias[0], 1)
                gemv(c'T', m + c, n_features, alpha, &visible[0, 0], n_features,
                     &row_weights[0], 1, <floating> momentum, a_vel, 1)
                axpy(n_features, 1.0, a_vel, 1, &visible_bias[0], 1)
            else:
                beta = 1 - decay
                gemm(c'T', c'N', n_features, n_components, m + c, alpha,
                     &visible[0, 0], n_features, &hidden[0, 0], n_components,
                     beta, &weights[0, 0], n_components)
                gemv(c'T', m + c, n_components, alpha, &hidden[0, 0], n_components,
                     &ones[0], 1, 1.0, &hidden_bias[0], 1)
                gemv(c'T', m + c, n_features, alpha, &visible[0, 0], n_features,
                     &row_weights[0], 1, 1.0, &visible_bias[0], 1)
