/* mlp_update.h: the optimizer steps of fastblas._mlp, one loop each over a block
 * of parameters, compiled for the CPU they run on.
 *
 * Each function is built for several instruction sets (cpu_clones.h), so that
 * it runs 16 floats (8 doubles) at a time where AVX-512 is present; Adam's step
 * has a hand-vectorised AVX-512 kernel besides (below), chosen at run time.
 *
 * Included by the generated _mlp.c, which is compiled with -fno-math-errno so
 * that sqrt vectorises (it need not set errno).
 */
#ifndef FASTBLAS_MLP_UPDATE_H
#define FASTBLAS_MLP_UPDATE_H

#include <math.h>
#include <stddef.h>

#include "cpu_clones.h"

/* scikit-learn's SGDOptimizer._get_updates with the L2 term folded into the
 * gradient, g = grad + l2 w:
 *     v <- mu v - lr g;   w += (nesterov ? mu v - lr g : v)
 * and AdamOptimizer._get_updates (Kingma and Ba 2015, Algorithm 1, the bias
 * corrections folded into lr):
 *     m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;   w -= lr m / (sqrt(v) + eps)
 */
#define FB_DEFINE_UPDATES(T, NAME, SQRT)                                              \
FB_CLONES static void fb_sgd_##NAME(ptrdiff_t n, T *restrict w,                      \
                                    const T *restrict grad, T *restrict velocity,    \
                                    T l2, T lr, T mu, int nesterov)                  \
{                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                              \
        T g = grad[i] + l2 * w[i];                                                   \
        T v = mu * velocity[i] - lr * g;                                             \
        velocity[i] = v;                                                             \
        w[i] += nesterov ? mu * v - lr * g : v;                                      \
    }                                                                                \
}                                                                                    \
FB_CLONES static void fb_adam_##NAME(ptrdiff_t n, T *restrict w,                     \
                                     const T *restrict grad, T *restrict m,          \
                                     T *restrict v, T l2, T lr, T beta_1,            \
                                     T beta_2, T epsilon)                            \
{                                                                                    \
    T one_minus_beta_1 = (T)1 - beta_1, one_minus_beta_2 = (T)1 - beta_2;            \
    for (ptrdiff_t i = 0; i < n; i++) {                                              \
        T g = grad[i] + l2 * w[i];                                                   \
        T mi = beta_1 * m[i] + one_minus_beta_1 * g;                                 \
        T vi = beta_2 * v[i] + one_minus_beta_2 * g * g;                             \
        m[i] = mi;                                                                   \
        v[i] = vi;                                                                   \
        w[i] -= lr * mi / (SQRT(vi) + epsilon);                                      \
    }                                                                                \
}

FB_DEFINE_UPDATES(float, float, sqrtf)
FB_DEFINE_UPDATES(double, double, sqrt)

/* Adam's step for AVX-512 CPUs, hand-vectorised: the same formula, but
 * 1 / (sqrt(v) + eps) taken as the 14-bit reciprocal estimate refined by Newton
 * steps, r <- r (2 - d r), each of which doubles its correct bits: one for float
 * (relative error below 2^-23), two for double (below 2^-52), so that the step
 * differs from the divided one in its last bit at most. The CPU's one divider
 * then does the square root alone: the division would cost as much again, and
 * Adam's update of every parameter after every minibatch is the largest cost of
 * a small-batch epoch beyond its matrix products.
 *
 * FB_DEFINE_AVX512_ADAM(T, NAME, V, M, LANES, S, NEWTON): T's vector V of LANES
 * lanes, its mask type M, the intrinsics' suffix S (ps, pd), NEWTON steps. */
#define FB_DEFINE_AVX512_ADAM(T, NAME, V, M, LANES, S, NEWTON)                         \
__attribute__((target("avx512f")))                                                    \
static void fb_adam_##NAME##_avx512(ptrdiff_t n, T *restrict w, const T *restrict grad, \
                                    T *restrict m, T *restrict v, T l2, T lr,         \
                                    T beta_1, T beta_2, T epsilon)                    \
{                                                                                     \
    const V b1 = _mm512_set1_##S(beta_1), b2 = _mm512_set1_##S(beta_2);              \
    const V c1 = _mm512_set1_##S((T)1 - beta_1), c2 = _mm512_set1_##S((T)1 - beta_2); \
    const V decay = _mm512_set1_##S(l2), rate = _mm512_set1_##S(lr);                  \
    const V eps = _mm512_set1_##S(epsilon), two = _mm512_set1_##S(2);                 \
    const V inf = _mm512_set1_##S(INFINITY);                                          \
    for (ptrdiff_t i = 0; i < n; i += LANES) {                                        \
        M lanes = n - i >= LANES ? (M)-1 : (M)((1u << (n - i)) - 1);                  \
        V wi = _mm512_maskz_loadu_##S(lanes, w + i);                                  \
        V g = _mm512_fmadd_##S(decay, wi, _mm512_maskz_loadu_##S(lanes, grad + i));   \
        V mi = _mm512_fmadd_##S(b1, _mm512_maskz_loadu_##S(lanes, m + i),             \
                                _mm512_mul_##S(c1, g));                               \
        V vi = _mm512_fmadd_##S(b2, _mm512_maskz_loadu_##S(lanes, v + i),             \
                                _mm512_mul_##S(c2, _mm512_mul_##S(g, g)));            \
        V d = _mm512_add_##S(_mm512_sqrt_##S(vi), eps);                               \
        V r = _mm512_rcp14_##S(d);                                                    \
        /* the Newton steps, except where d is inf (r = 0 there, as m / inf) */       \
        M finite = _mm512_cmp_##S##_mask(d, inf, _CMP_LT_OQ);                         \
        for (int step = 0; step < NEWTON; step++)                                     \
            r = _mm512_mask_mul_##S(r, finite, r, _mm512_fnmadd_##S(d, r, two));      \
        _mm512_mask_storeu_##S(m + i, lanes, mi);                                     \
        _mm512_mask_storeu_##S(v + i, lanes, vi);                                     \
        _mm512_mask_storeu_##S(w + i, lanes,                                          \
                               _mm512_fnmadd_##S(_mm512_mul_##S(rate, mi), r, wi));   \
    }                                                                                 \
}

#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 6))
#include <immintrin.h>
FB_DEFINE_AVX512_ADAM(float, float, __m512, __mmask16, 16, ps, 1)
FB_DEFINE_AVX512_ADAM(double, double, __m512d, __mmask8, 8, pd, 2)
#define FB_RUNS_AVX512_ADAM() __builtin_cpu_supports("avx512f")
#else
#define FB_RUNS_AVX512_ADAM() 0
#define fb_adam_float_avx512 fb_adam_float
#define fb_adam_double_avx512 fb_adam_double
#endif

/* Adam's step with the fastest kernel this CPU runs (chosen at run time). */
#define FB_DEFINE_ADAM_STEP(T, NAME)                                                  \
static void fb_adam_step_##NAME(ptrdiff_t n, T *w, const T *grad, T *m, T *v, T l2,   \
                                T lr, T beta_1, T beta_2, T epsilon)                  \
{                                                                                     \
    if (FB_RUNS_AVX512_ADAM())                                                        \
        fb_adam_##NAME##_avx512(n, w, grad, m, v, l2, lr, beta_1, beta_2, epsilon);   \
    else                                                                              \
        fb_adam_##NAME(n, w, grad, m, v, l2, lr, beta_1, beta_2, epsilon);            \
}

FB_DEFINE_ADAM_STEP(float, float)
FB_DEFINE_ADAM_STEP(double, double)

#endif /* FASTBLAS_MLP_UPDATE_H */
