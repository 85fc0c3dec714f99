# cython: language_level=3
"""The multi-layer perceptron's training loop, kept in nogil Cython.

A :class:`Trainer` is built once per ``fit`` around the estimator's own arrays
(``coefs_``, ``intercepts_``, the optimizer's velocities or moments, which it
updates in place) and allocates all the scratch a minibatch needs. Each call of
:meth:`Trainer.run_epoch` then runs whole minibatches without the GIL: gather the
batch's rows, forward pass (gemm, then one fused pass adding the bias and applying
the activation), loss, backward pass (two gemm per layer), and the SGD or Adam
update with the L2 penalty folded in (plain SGD, momentum 0, is applied by the
gradient gemm itself through its beta). The math is scikit-learn's
(``sklearn/neural_network/_multilayer_perceptron.py`` and
``_stochastic_optimizers.py``), so the estimator's Python-side bookkeeping is
scikit-learn's too.

Two things keep the elementwise passes vectorised: tanh is NumPy's own SIMD
loop (the ``np.tanh`` ufunc's inner loop, pure C, called without the GIL),
because libm's scalar tanh costs more than the gemm around it; and the module is
compiled with ``-fno-math-errno`` (sqrt need not set errno, so Adam's update
vectorises; results are unchanged and no process-wide FP state is touched).
The updates run with subnormals flushed to zero on this thread only (see
``step``): decaying optimizer state would otherwise slow epochs 2-5x.

Layout: a layer's weights are ``fan_in x fan_out`` row-major, so the forward
product ``A (batch x fan_in) @ W`` is a plain NN gemm, the hottest one.
"""
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport pow, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset
from numpy.random cimport bitgen_t
cimport numpy as cnp

import numpy as np
import scipy.sparse as sp

from fastblas.cyblas cimport dot, floating, gemm
from _nn_common cimport (
    EXP, IDENTITY, LOGISTIC, RELU, SOFTMAX, TANH, UnaryLoop,
    activate, apply_inplace, fexp, find_unary_loop, flog, fsqrt, shuffle_indices,
)

ACTIVATIONS = {"identity": IDENTITY, "logistic": LOGISTIC, "tanh": TANH,
               "relu": RELU, "softmax": SOFTMAX, "exp": EXP}

cdef enum Loss:
    SQUARED_ERROR
    LOG_LOSS            # softmax output, categorical cross-entropy
    BINARY_LOG_LOSS     # logistic output, one binary cross-entropy per output
    POISSON             # exp output, half Poisson deviance

LOSSES = {"squared_error": SQUARED_ERROR, "log_loss": LOG_LOSS,
          "binary_log_loss": BINARY_LOG_LOSS, "poisson": POISSON}

cdef enum Solver:
    SGD
    ADAM

# Work per nogil call of run_epoch: about 50 ms of gemm, so that Ctrl-C is
# honoured promptly at a batch boundary while Python stays out of the loop.
cdef double CHUNK_FLOPS = 5e9
cdef int BLAS_INT_MAX = 2147483647
cdef enum:
    # Parameters are updated in blocks of this many elements (16 KiB of float32).
    UPDATE_BLOCK = 4096


cdef UnaryLoop TANH_FLOAT = find_unary_loop(np.tanh, cnp.NPY_FLOAT)
cdef UnaryLoop TANH_DOUBLE = find_unary_loop(np.tanh, cnp.NPY_DOUBLE)


cdef extern from *:
    """
    /* Subnormal inputs and results read and written as 0 for the calling thread:
       x86 SSE's MXCSR DAZ (bit 6) and FTZ (bit 15); elsewhere a no-op. */
    #if defined(__SSE2__) || defined(_M_X64)
    #include <xmmintrin.h>
    static inline unsigned int fastblas_subnormals_off(void) {
        unsigned int csr = _mm_getcsr();
        _mm_setcsr(csr | 0x8040);
        return csr;
    }
    static inline void fastblas_fpenv_restore(unsigned int csr) { _mm_setcsr(csr); }
    #else
    static inline unsigned int fastblas_subnormals_off(void) { return 0; }
    static inline void fastblas_fpenv_restore(unsigned int csr) { (void)csr; }
    #endif
    """
    unsigned int subnormals_off "fastblas_subnormals_off" () noexcept nogil
    void fpenv_restore "fastblas_fpenv_restore" (unsigned int csr) noexcept nogil


cdef struct Network:
    int n_layers                # L weight matrices, L + 1 entries in units
    int *units                  # units[0] = n_features, units[L] = n_outputs
    int hidden                  # Activation of the hidden layers
    int output                  # Activation of the output layer
    int loss
    int solver
    bint gather                 # copy each batch's rows of X (in `order`) to act[0]
    Py_ssize_t n_samples
    void *X                     # n_samples x units[0], C order; or a CSR matrix's data
    Py_ssize_t *csr_indices     # the CSR matrix's column indices, NULL for dense X
    Py_ssize_t *csr_indptr      # the CSR matrix's row pointers, NULL for dense X
    void *Y                     # n_samples x units[L], C order
    void *sample_weight         # n_samples, or NULL for unit weights
    Py_ssize_t *order           # the sample order of this epoch
    # One entry per layer (L): parameters, gradients, optimizer state. state1 is
    # SGD's velocity or Adam's first moment; state2 is Adam's second moment.
    void **coef
    void **intercept
    void **coef_grad
    void **intercept_grad
    void **coef_state1
    void **coef_state2
    void **intercept_state1
    void **intercept_state2
    void **act                  # L + 1: act[0] gathered input, act[l] layer l output
    void **delta                # L: dLoss/dz of layer l + 1's pre-activation z
    double alpha
    double learning_rate        # SGD: the current rate; Adam: learning_rate_init
    double momentum
    bint nesterov
    double beta_1
    double beta_2
    double epsilon
    long long t                 # Adam's step count


# ---------------------------------------------------------------------------
# One minibatch: forward, loss, backward, update (all nogil, fused over dtype)
# ---------------------------------------------------------------------------

cdef void add_bias_activate(int kind, floating *a, const floating *bias,
                            int n, int m) noexcept nogil:
    """a[i, :] <- f(a[i, :] + bias) for the n x m row-major a, in one pass."""
    cdef int i, j
    cdef floating *row
    cdef floating top, total, z
    for i in range(n):
        row = a + <Py_ssize_t> i * m
        if kind == SOFTMAX:
            # exp(z - max z) / sum: the shift keeps exp from overflowing.
            top = row[0] + bias[0]
            for j in range(m):
                row[j] += bias[j]
                if row[j] > top:
                    top = row[j]
            total = 0
            for j in range(m):
                row[j] = fexp(row[j] - top)
                total += row[j]
            for j in range(m):
                row[j] /= total
        elif kind == EXP:
            for j in range(m):
                row[j] = fexp(row[j] + bias[j])
        elif kind == TANH or kind == IDENTITY:
            for j in range(m):
                row[j] += bias[j]
        elif kind == RELU:
            for j in range(m):
                z = row[j] + bias[j]
                row[j] = 0 if z <= 0 else z     # a select (keeps NaN): vectorises
        else:
            for j in range(m):
                row[j] = activate(kind, row[j] + bias[j])
    if kind == TANH:
        apply_inplace(TANH_FLOAT if floating is float else TANH_DOUBLE, a, <Py_ssize_t> n * m)


cdef void forward(Network *net, floating *x, int n) noexcept nogil:
    """act[l + 1] = f(act[l] @ coef[l] + intercept[l]) for every layer; x is act[0]."""
    cdef int l, fan_in, fan_out
    cdef floating *a_in = x
    cdef floating *a_out
    for l in range(net.n_layers):
        fan_in = net.units[l]
        fan_out = net.units[l + 1]
        a_out = <floating *> net.act[l + 1]
        gemm(c'N', c'N', n, fan_out, fan_in, 1, a_in, fan_in,
             <floating *> net.coef[l], fan_out, 0, a_out, fan_out)
        add_bias_activate(net.hidden if l < net.n_layers - 1 else net.output,
                          a_out, <floating *> net.intercept[l], n, fan_out)
        a_in = a_out


cdef inline double xlogy(double x, double y) noexcept nogil:
    """x * log(y), and 0 when x == 0 (scipy.special.xlogy)."""
    return 0 if x == 0 else x * flog(y)


cdef double weighted_data_loss(Network *net, floating *p, const Py_ssize_t *rows,
                               int n) noexcept nogil:
    """sum_i w_i loss_i over the batch, loss_i as in sklearn.neural_network._base.

    Probabilities are clipped to [eps, 1 - eps] (eps of the dtype) before the log,
    as scikit-learn's log_loss does; the squared loss is averaged over outputs.
    """
    cdef int i, j, m = net.units[net.n_layers]
    cdef floating *y
    cdef floating *p_row
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double q, yij, row_loss, total = 0
    for i in range(n):
        y = <floating *> net.Y + rows[i] * m
        p_row = p + <Py_ssize_t> i * m
        row_loss = 0
        for j in range(m):
            yij = y[j]
            q = p_row[j]
            if net.loss == SQUARED_ERROR:
                row_loss += 0.5 * (yij - q) * (yij - q) / m
            elif net.loss == POISSON:
                row_loss += xlogy(yij, yij / q) - yij + q
            else:
                q = min(max(q, eps), 1 - eps)
                row_loss -= xlogy(yij, q)
                if net.loss == BINARY_LOG_LOSS:
                    row_loss -= xlogy(1 - yij, 1 - q)
        if net.sample_weight != NULL:
            row_loss *= (<floating *> net.sample_weight)[rows[i]]
        total += row_loss
    return total


cdef double squared_norm(Network *net, floating *proto) noexcept nogil:
    """sum over layers of ||coef[l]||_F^2."""
    cdef int l, size
    cdef double total = 0
    for l in range(net.n_layers):
        size = net.units[l] * net.units[l + 1]
        total += dot(size, <floating *> net.coef[l], 1, <floating *> net.coef[l], 1)
    return total


cdef void output_delta(Network *net, floating *p, const Py_ssize_t *rows,
                       int n) noexcept nogil:
    """delta[L-1] = (p - y) * w, the derivative of the loss by the output layer's
    pre-activation for every canonical (activation, loss) pair used here:
    softmax + log loss, logistic + binary log loss, identity + squared error,
    exp + Poisson."""
    cdef int i, j, m = net.units[net.n_layers]
    cdef floating *d = <floating *> net.delta[net.n_layers - 1]
    cdef floating *y
    cdef floating w = 1
    for i in range(n):
        y = <floating *> net.Y + rows[i] * m
        if net.sample_weight != NULL:
            w = (<floating *> net.sample_weight)[rows[i]]
        for j in range(m):
            d[<Py_ssize_t> i * m + j] = (p[<Py_ssize_t> i * m + j] - y[j]) * w


cdef void multiply_by_derivative(int kind, floating *d, const floating *a,
                                 Py_ssize_t count) noexcept nogil:
    """d *= f'(z), written with the unit's output a = f(z) as scikit-learn's
    inplace_*_derivative do: relu 1{a != 0}, tanh 1 - a^2, logistic a (1 - a)."""
    cdef Py_ssize_t k
    cdef floating one = 1      # a typed 1: a literal would promote floats to double
    if kind == RELU:
        for k in range(count):
            d[k] = 0 if a[k] == 0 else d[k]     # a select, not a branch: vectorises
    elif kind == TANH:
        for k in range(count):
            d[k] *= one - a[k] * a[k]
    elif kind == LOGISTIC:
        for k in range(count):
            d[k] *= a[k] * (one - a[k])


cdef void propagate_delta(Network *net, int l, floating *a, int n) noexcept nogil:
    """delta[l-1] = (delta[l] @ coef[l]') * f'(a), a = act[l] the layer's output."""
    cdef int fan_in = net.units[l], fan_out = net.units[l + 1]
    cdef floating *d = <floating *> net.delta[l - 1]
    gemm(c'N', c'T', n, fan_in, fan_out, 1, <floating *> net.delta[l], fan_out,
         <floating *> net.coef[l], fan_out, 0, d, fan_in)
    multiply_by_derivative(net.hidden, d, a, <Py_ssize_t> n * fan_in)


cdef void column_means(const floating *d, int n, int m, floating scale,
                       floating *g) noexcept nogil:
    """g = scale * (column sums of the n x m row-major d)."""
    cdef int i, j
    for j in range(m):
        g[j] = 0
    for i in range(n):
        for j in range(m):
            g[j] += d[<Py_ssize_t> i * m + j]
    for j in range(m):
        g[j] *= scale


cdef void backward(Network *net, floating *x, const Py_ssize_t *rows, int n,
                   double weight_sum, bint sgd_in_place) noexcept nogil:
    """Back-propagation: the data-loss gradients into coef_grad / intercept_grad,
    coef_grad[l] = act[l]' @ delta[l] / weight_sum (act[0] = x), intercept_grad[l]
    = column sums of delta[l] / weight_sum.

    With sgd_in_place (plain SGD, momentum 0), the gradient gemm applies the step
    itself: W <- (1 - lr l2) W - lr act' delta / weight_sum, with l2 = alpha /
    weight_sum (beta = 1 - lr l2 in the gemm), which is SGDOptimizer's update for
    momentum 0 with no pass over W besides the gemm's; its velocity (-lr g, never
    read when momentum is 0) is not stored.
    """
    cdef int j, l, fan_in, fan_out
    cdef floating *d
    cdef floating *a
    cdef floating *b
    cdef floating *g
    cdef floating scale = <floating> (1.0 / weight_sum)
    cdef floating lr = <floating> net.learning_rate
    cdef floating l2 = <floating> (net.alpha / weight_sum)
    output_delta(net, <floating *> net.act[net.n_layers], rows, n)
    for l in range(net.n_layers - 1, -1, -1):
        fan_in = net.units[l]
        fan_out = net.units[l + 1]
        d = <floating *> net.delta[l]
        a = x if l == 0 else <floating *> net.act[l]
        g = <floating *> net.intercept_grad[l]
        column_means(d, n, fan_out, scale, g)
        if l > 0:
            propagate_delta(net, l, a, n)       # before coef[l] may change below
        if sgd_in_place:
            gemm(c'T', c'N', fan_in, fan_out, n, -lr * scale, a, fan_in, d, fan_out,
                 1 - lr * l2, <floating *> net.coef[l], fan_out)
            b = <floating *> net.intercept[l]
            for j in range(fan_out):
                b[j] -= lr * g[j]
        else:
            gemm(c'T', c'N', fan_in, fan_out, n, scale, a, fan_in, d, fan_out,
                 0, <floating *> net.coef_grad[l], fan_out)


cdef void sgd_step(floating *w, const floating *grad, floating *velocity,
                   Py_ssize_t size, floating l2, floating lr, floating mu,
                   bint nesterov) noexcept nogil:
    """SGDOptimizer._get_updates: v <- mu v - lr g; w += (mu v - lr g) if nesterov
    else v, with g = grad + l2 w."""
    cdef Py_ssize_t i
    cdef floating g, v
    for i in range(size):
        g = grad[i] + l2 * w[i]
        v = mu * velocity[i] - lr * g
        velocity[i] = v
        w[i] += mu * v - lr * g if nesterov else v


cdef void adam_step(floating *w, const floating *grad, floating *m, floating *v,
                    Py_ssize_t size, floating l2, floating lr_t, floating beta_1,
                    floating beta_2, floating epsilon) noexcept nogil:
    """AdamOptimizer._get_updates (Kingma & Ba, Algorithm 1, with the bias
    corrections folded into lr_t): m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
    w -= lr_t m / (sqrt(v) + eps), with g = grad + l2 w."""
    cdef Py_ssize_t i
    cdef floating g
    cdef floating one_minus_beta_1 = 1 - beta_1, one_minus_beta_2 = 1 - beta_2
    for i in range(size):
        g = grad[i] + l2 * w[i]
        m[i] = beta_1 * m[i] + one_minus_beta_1 * g
        v[i] = beta_2 * v[i] + one_minus_beta_2 * g * g
        w[i] -= lr_t * m[i] / (fsqrt(v[i]) + epsilon)


cdef double step(Network *net, floating *w, const floating *grad, floating *state1,
                 floating *state2, Py_ssize_t size, floating l2, floating lr) noexcept nogil:
    """The solver's step on one parameter array; returns ||w||^2 after it.

    Works in blocks small enough to stay in L1, taking each block's squared norm
    (BLAS dot) right after updating it: the norm comes almost free and the update
    loops stay free of a serial reduction, so they vectorise.

    Each block's update runs with subnormal numbers read and written as 0 (on
    this thread, restored right after; x86 only). Optimizer state and weights
    that only decay (momentum and Adam's moments where the gradient is 0, weights
    whose gradient is only the L2 term) pass through the subnormal range, where
    every operation takes a slow hardware assist: float32 Adam epochs on
    Fashion-MNIST ran 2-5x slower after a few epochs. The change to any result
    is below the smallest normal number (1e-38 in float32, 1e-308 in float64).
    """
    cdef Py_ssize_t start = 0, n
    cdef double norm = 0
    cdef unsigned int fpenv
    while start < size:
        n = min(<Py_ssize_t> UPDATE_BLOCK, size - start)
        fpenv = subnormals_off()
        if net.solver == SGD:
            sgd_step(w + start, grad + start, state1 + start, n, l2, lr,
                     <floating> net.momentum, net.nesterov)
        else:
            adam_step(w + start, grad + start, state1 + start, state2 + start, n, l2, lr,
                      <floating> net.beta_1, <floating> net.beta_2, <floating> net.epsilon)
        fpenv_restore(fpenv)
        norm += dot(<int> n, w + start, 1, w + start, 1)
        start += n
    return norm


cdef double update(Network *net, floating *proto, double weight_sum) noexcept nogil:
    """One solver step on every parameter; returns sum_l ||coef[l]||^2 after it.

    The L2 penalty 0.5 alpha ||W||^2 / weight_sum contributes alpha W / weight_sum
    to the coefficients' gradient (intercepts are not penalised).
    """
    cdef int l, fan_in, fan_out
    cdef double norm = 0, lr = net.learning_rate
    cdef floating l2 = <floating> (net.alpha / weight_sum)
    if net.solver == ADAM:
        net.t += 1
        lr = adam_learning_rate(net.learning_rate, net.beta_1, net.beta_2, net.t)
    for l in range(net.n_layers):
        fan_in = net.units[l]
        fan_out = net.units[l + 1]
        norm += step(net, <floating *> net.coef[l], <floating *> net.coef_grad[l],
                     <floating *> net.coef_state1[l], <floating *> net.coef_state2[l],
                     <Py_ssize_t> fan_in * fan_out, l2, <floating> lr)
        step(net, <floating *> net.intercept[l], <floating *> net.intercept_grad[l],
             <floating *> net.intercept_state1[l], <floating *> net.intercept_state2[l],
             fan_out, 0, <floating> lr)
    return norm


cdef inline double adam_learning_rate(double lr_init, double beta_1, double beta_2,
                                      long long t) noexcept nogil:
    """lr_init * sqrt(1 - beta_2^t) / (1 - beta_1^t): Adam's bias-corrected step."""
    return lr_init * sqrt(1 - pow(beta_2, <double> t)) / (1 - pow(beta_1, <double> t))


cdef floating *batch_input(Network *net, floating *X, Py_ssize_t start, int n) noexcept nogil:
    """The batch's rows of X: gathered into act[0] in `order` (densified when X
    is CSR), or X's own rows."""
    cdef int i, k = net.units[0]
    cdef Py_ssize_t p, row
    cdef floating *dst = <floating *> net.act[0]
    if not net.gather:
        return X + start * k
    for i in range(n):
        row = net.order[start + i]
        if net.csr_indptr == NULL:
            memcpy(dst + <Py_ssize_t> i * k, X + row * k, k * sizeof(floating))
        else:
            memset(dst + <Py_ssize_t> i * k, 0, k * sizeof(floating))
            for p in range(net.csr_indptr[row], net.csr_indptr[row + 1]):
                dst[<Py_ssize_t> i * k + net.csr_indices[p]] += X[p]   # duplicates add up
    return dst


cdef double batch_weight_sum(Network *net, floating *proto, const Py_ssize_t *rows,
                             int n) noexcept nogil:
    cdef int i
    cdef double total = 0
    if net.sample_weight == NULL:
        return n
    for i in range(n):
        total += (<floating *> net.sample_weight)[rows[i]]
    return total


cdef double batch_loss_gradient(Network *net, floating *X, Py_ssize_t start, int n,
                                double coef_norm, double *weight_sum,
                                bint sgd_in_place) noexcept nogil:
    """Forward and backward pass on samples order[start:start + n].

    Returns the batch loss (weighted mean data loss + 0.5 alpha ||W||^2 / sum w,
    as BaseMultilayerPerceptron._backprop) and leaves the data-loss gradients in
    coef_grad / intercept_grad (or, sgd_in_place, applies plain SGD: see backward).
    """
    cdef const Py_ssize_t *rows = net.order + start
    cdef floating *x = batch_input(net, X, start, n)
    weight_sum[0] = batch_weight_sum(net, X, rows, n)
    forward(net, x, n)
    cdef double loss = (weighted_data_loss(net, <floating *> net.act[net.n_layers], rows, n)
                        + 0.5 * net.alpha * coef_norm) / weight_sum[0]
    backward(net, x, rows, n, weight_sum[0], sgd_in_place)
    return loss


cdef double run_batches(Network *net, floating *X, Py_ssize_t start, Py_ssize_t stop,
                        int batch_size) noexcept nogil:
    """Train on the batches starting at start, start + batch_size, ... < stop.

    Returns sum over batches of batch loss * batch length (scikit-learn's
    accumulated_loss). ||W||^2 for the L2 term comes from the previous update.
    """
    cdef int n
    cdef double weight_sum, total = 0
    cdef double coef_norm = squared_norm(net, X)
    cdef bint sgd_in_place = net.solver == SGD and net.momentum == 0
    while start < stop:
        n = <int> min(<Py_ssize_t> batch_size, net.n_samples - start)
        total += n * batch_loss_gradient(net, X, start, n, coef_norm, &weight_sum,
                                         sgd_in_place)
        if not sgd_in_place:
            coef_norm = update(net, X, weight_sum)
        elif net.alpha != 0:
            coef_norm = squared_norm(net, X)
        start += n
    return total


# ---------------------------------------------------------------------------
# Python-facing trainer: validates and borrows the arrays once per fit
# ---------------------------------------------------------------------------

cdef void *borrow(object array, tuple shape, object dtype, str name,
                  bint writeable=True) except NULL:
    """The data pointer of a C-contiguous `dtype` array of `shape`, which must be
    writeable unless the loop only reads it (writeable=False)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype or array.shape != shape:
        raise ValueError(f"{name} must be a {dtype} array of shape {shape}, "
                         f"got {array.dtype} {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writeable and not array.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return <void *> <size_t> array.ctypes.data


cdef class Trainer:
    """Minibatch SGD / Adam on an MLP whose parameters live in NumPy arrays.

    Parameters are updated in place: ``coefs[l]`` (units[l] x units[l+1]),
    ``intercepts[l]``, and the optimizer state ``state1`` (SGD velocities or Adam
    first moments) and ``state2`` (Adam second moments, or None), each a list
    ordered as ``coefs + intercepts`` like scikit-learn's optimizers. X (n x
    units[0], dense or a scipy.sparse matrix, whose batches are densified row by
    row), Y (n x units[-1]) and sample_weight (n, or None) are read only.
    """
    cdef Network net
    cdef readonly object dtype
    cdef readonly int batch_size
    cdef readonly list coef_grads, intercept_grads
    cdef list _keep_alive
    cdef Py_ssize_t[::1] _order

    def __cinit__(self):
        self.net.units = NULL
        self.net.coef = NULL

    def __init__(self, list coefs, list intercepts, X, Y, sample_weight, *,
                 str hidden_activation, str output_activation, str loss, str solver,
                 int batch_size, bint shuffle, double alpha, double learning_rate,
                 double momentum=0.9, bint nesterov=True, double beta_1=0.9,
                 double beta_2=0.999, double epsilon=1e-8, long long t=0,
                 list state1=None, list state2=None):
        cdef int l, n_layers = len(coefs)
        cdef Network *net = &self.net
        if n_layers < 1 or len(intercepts) != n_layers:
            raise ValueError("coefs and intercepts must be two lists of the same length >= 1")
        dtype = np.asarray(coefs[0]).dtype
        if dtype != np.float32 and dtype != np.float64:
            raise TypeError(f"coefs must be float32 or float64, got {dtype}")
        if hidden_activation not in ("identity", "logistic", "tanh", "relu"):
            raise ValueError(f"unknown hidden_activation {hidden_activation!r}")
        if solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam', got {solver!r}")
        units = [np.shape(c)[0] for c in coefs] + [np.shape(coefs[n_layers - 1])[1]]
        n_samples = X.shape[0] if sp.issparse(X) else np.shape(X)[0]
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=dtype)
            csr = (np.ascontiguousarray(X.data), np.ascontiguousarray(X.indices, np.intp),
                   np.ascontiguousarray(X.indptr, np.intp))
            if X.shape[1] != units[0]:
                raise ValueError(f"X must have {units[0]} columns, got {X.shape[1]}")
        if batch_size < 1 or n_samples < 1:
            raise ValueError("need batch_size >= 1 and at least one sample")
        batch_size = min(batch_size, n_samples)
        if max(units) * <double> batch_size > BLAS_INT_MAX or max(
                units[l] * <double> units[l + 1] for l in range(n_layers)) > BLAS_INT_MAX:
            raise ValueError("layer sizes too large for the 32-bit BLAS integer")
        state_count = 2 if solver == "adam" else 1
        states = [state1, state2][:state_count]
        if any(s is None or len(s) != 2 * n_layers for s in states):
            raise ValueError(f"solver {solver!r} needs {state_count} optimizer state "
                             f"list(s) of length {2 * n_layers}")

        self.dtype = dtype
        self.batch_size = batch_size
        self._order = np.arange(n_samples, dtype=np.intp)
        self._keep_alive = [coefs, intercepts, X, Y, sample_weight, state1, state2]
        if sp.issparse(X):
            self._keep_alive.append(csr)
        self.coef_grads = [np.zeros((units[l], units[l + 1]), dtype) for l in range(n_layers)]
        self.intercept_grads = [np.zeros(units[l + 1], dtype) for l in range(n_layers)]
        activations = [np.zeros((batch_size, u), dtype) for u in units]
        deltas = [np.zeros((batch_size, u), dtype) for u in units[1:]]
        self._keep_alive += [activations, deltas]

        net.n_layers = n_layers
        net.units = <int *> calloc(n_layers + 1, sizeof(int))
        # 12 tables of per-layer pointers in one block (act has n_layers + 1).
        net.coef = <void **> calloc(12 * (n_layers + 1), sizeof(void *))
        if net.units == NULL or net.coef == NULL:
            raise MemoryError()
        for l in range(n_layers + 1):
            net.units[l] = units[l]
        net.intercept = net.coef + (n_layers + 1)
        net.coef_grad = net.coef + 2 * (n_layers + 1)
        net.intercept_grad = net.coef + 3 * (n_layers + 1)
        net.coef_state1 = net.coef + 4 * (n_layers + 1)
        net.coef_state2 = net.coef + 5 * (n_layers + 1)
        net.intercept_state1 = net.coef + 6 * (n_layers + 1)
        net.intercept_state2 = net.coef + 7 * (n_layers + 1)
        net.act = net.coef + 8 * (n_layers + 1)
        net.delta = net.coef + 9 * (n_layers + 1)

        for l in range(n_layers):
            shape, bias_shape = (units[l], units[l + 1]), (units[l + 1],)
            net.coef[l] = borrow(coefs[l], shape, dtype, f"coefs[{l}]")
            net.intercept[l] = borrow(intercepts[l], bias_shape, dtype, f"intercepts[{l}]")
            net.coef_grad[l] = borrow(self.coef_grads[l], shape, dtype, "coef_grads")
            net.intercept_grad[l] = borrow(self.intercept_grads[l], bias_shape, dtype,
                                           "intercept_grads")
            net.coef_state1[l] = borrow(state1[l], shape, dtype, f"state1[{l}]")
            net.intercept_state1[l] = borrow(state1[n_layers + l], bias_shape, dtype,
                                             f"state1[{n_layers + l}]")
            if solver == "adam":
                net.coef_state2[l] = borrow(state2[l], shape, dtype, f"state2[{l}]")
                net.intercept_state2[l] = borrow(state2[n_layers + l], bias_shape, dtype,
                                                 f"state2[{n_layers + l}]")
            net.delta[l] = borrow(deltas[l], (batch_size, units[l + 1]), dtype, "delta")
        for l in range(n_layers + 1):
            net.act[l] = borrow(activations[l], (batch_size, units[l]), dtype, "activation")

        net.n_samples = n_samples
        net.csr_indices = net.csr_indptr = NULL
        if sp.issparse(X):
            net.X = borrow(csr[0], (X.nnz,), dtype, "X.data", False)
            net.csr_indices = <Py_ssize_t *> borrow(csr[1], (X.nnz,), np.intp,
                                                    "X.indices", False)
            net.csr_indptr = <Py_ssize_t *> borrow(csr[2], (n_samples + 1,), np.intp,
                                                   "X.indptr", False)
        else:
            net.X = borrow(X, (n_samples, units[0]), dtype, "X", False)
        net.Y = borrow(Y, (n_samples, units[n_layers]), dtype, "Y", False)
        net.sample_weight = NULL
        if sample_weight is not None:
            net.sample_weight = borrow(sample_weight, (n_samples,), dtype,
                                       "sample_weight", False)
        net.order = &self._order[0]
        net.gather = shuffle or sp.issparse(X)
        net.hidden = ACTIVATIONS[hidden_activation]
        net.output = ACTIVATIONS[output_activation]
        net.loss = LOSSES[loss]
        net.solver = ADAM if solver == "adam" else SGD
        net.alpha = alpha
        net.learning_rate = learning_rate
        net.momentum = momentum
        net.nesterov = nesterov
        net.beta_1 = beta_1
        net.beta_2 = beta_2
        net.epsilon = epsilon
        net.t = t

    def __dealloc__(self):
        free(self.net.units)
        free(self.net.coef)

    @property
    def t(self):
        """Adam's step count (number of updates so far)."""
        return self.net.t

    @property
    def learning_rate(self):
        """The step size of the last update: SGD's rate, Adam's bias-corrected rate."""
        if self.net.solver == ADAM and self.net.t > 0:
            return adam_learning_rate(self.net.learning_rate, self.net.beta_1,
                                      self.net.beta_2, self.net.t)
        return self.net.learning_rate

    def set_learning_rate(self, double learning_rate):
        """SGD's current rate (schedules change it between epochs); Adam's initial rate."""
        self.net.learning_rate = learning_rate

    @property
    def order(self):
        """The sample order of the current epoch (a copy)."""
        return np.asarray(self._order).copy()

    def shuffle(self, bit_generator):
        """Shuffle the sample order with a numpy.random.BitGenerator's bitgen_t."""
        cdef bitgen_t *rng = <bitgen_t *> PyCapsule_GetPointer(
            bit_generator.capsule, "BitGenerator")
        cdef Py_ssize_t n = self.net.n_samples
        with bit_generator.lock, nogil:
            shuffle_indices(rng, self.net.order, n)

    def run_epoch(self):
        """One pass over the samples in the current order; returns the mean batch
        loss weighted by batch length (scikit-learn's ``loss_``).

        Runs in nogil chunks of about CHUNK_FLOPS; between chunks pending signals
        are handled, so Ctrl-C raises KeyboardInterrupt at a batch boundary with
        every completed batch's update kept.
        """
        cdef Network *net = &self.net
        cdef Py_ssize_t start = 0, stop, n = net.n_samples
        cdef int batch_size = self.batch_size
        cdef double total = 0
        cdef double flops = 0
        cdef int l
        cdef bint is_float = self.dtype == np.float32
        for l in range(net.n_layers):
            flops += 6.0 * batch_size * net.units[l] * net.units[l + 1]
        cdef Py_ssize_t chunk = batch_size * max(1, <Py_ssize_t> (CHUNK_FLOPS / flops))
        while start < n:
            stop = min(n, start + chunk)
            with nogil:
                if is_float:
                    total += run_batches(net, <float *> net.X, start, stop, batch_size)
                else:
                    total += run_batches(net, <double *> net.X, start, stop, batch_size)
            PyErr_CheckSignals()
            start = stop
        return total / n

    def loss_gradient(self):
        """Loss of the first batch in the current order, with its full gradient.

        Returns (loss, coef_grads, intercept_grads): the exact quantities the
        training step uses, the L2 term alpha W / sum(w) included. For tests.
        """
        cdef Network *net = &self.net
        cdef double weight_sum, loss
        cdef int n = self.batch_size
        if self.dtype == np.float32:
            loss = batch_loss_gradient(net, <float *> net.X, 0, n,
                                       squared_norm(net, <float *> net.X), &weight_sum, False)
        else:
            loss = batch_loss_gradient(net, <double *> net.X, 0, n,
                                       squared_norm(net, <double *> net.X), &weight_sum, False)
        coefs = self._keep_alive[0]
        coef_grads = [g + (net.alpha / weight_sum) * w
                      for g, w in zip(self.coef_grads, coefs)]
        return loss, coef_grads, [g.copy() for g in self.intercept_grads]
