/* mlp_update.h: the optimizer steps of fastblas._mlp, one loop each over a block
 * of parameters, compiled for the CPU they run on.
 *
 * Each function is built for several instruction sets (cpu_clones.h): Adam's
 * sqrt and division run 16 floats at a time where AVX-512 is present.
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

/* Adam's float32 step for AVX-512 CPUs, hand-vectorised: the same formula, but
 * 1 / (sqrt(v) + eps) taken as the 14-bit reciprocal estimate refined by one
 * Newton step, r <- r (2 - d r) (relative error below 2^-23, so the step differs
 * from the divided one in its last bit at most). The CPU's one divider then does
 * the square root alone: the division would cost as much again, and Adam's
 * update of every parameter after every minibatch is the largest cost of a
 * small-batch epoch beyond its matrix products. */
#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 6))
#include <immintrin.h>
#define FB_HAVE_AVX512_ADAM 1
__attribute__((target("avx512f")))
static void fb_adam_float_avx512(ptrdiff_t n, float *restrict w, const float *restrict grad,
                                 float *restrict m, float *restrict v, float l2, float lr,
                                 float beta_1, float beta_2, float epsilon)
{
    const __m512 b1 = _mm512_set1_ps(beta_1), b2 = _mm512_set1_ps(beta_2);
    const __m512 c1 = _mm512_set1_ps(1.0f - beta_1), c2 = _mm512_set1_ps(1.0f - beta_2);
    const __m512 decay = _mm512_set1_ps(l2), rate = _mm512_set1_ps(lr);
    const __m512 eps = _mm512_set1_ps(epsilon), two = _mm512_set1_ps(2.0f);
    const __m512 inf = _mm512_set1_ps(INFINITY);
    for (ptrdiff_t i = 0; i < n; i += 16) {
        __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 wi = _mm512_maskz_loadu_ps(lanes, w + i);
        __m512 g = _mm512_fmadd_ps(decay, wi, _mm512_maskz_loadu_ps(lanes, grad + i));
        __m512 mi = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(lanes, m + i), _mm512_mul_ps(c1, g));
        __m512 vi = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(lanes, v + i),
                                    _mm512_mul_ps(c2, _mm512_mul_ps(g, g)));
        __m512 d = _mm512_add_ps(_mm512_sqrt_ps(vi), eps);
        __m512 r = _mm512_rcp14_ps(d);
        /* the Newton step, except where d is inf (r = 0 there, as m / inf) */
        r = _mm512_mask_mul_ps(r, _mm512_cmp_ps_mask(d, inf, _CMP_LT_OQ), r,
                               _mm512_fnmadd_ps(d, r, two));
        _mm512_mask_storeu_ps(m + i, lanes, mi);
        _mm512_mask_storeu_ps(v + i, lanes, vi);
        _mm512_mask_storeu_ps(w + i, lanes, _mm512_fnmadd_ps(_mm512_mul_ps(rate, mi), r, wi));
    }
}
#endif

/* Adam's float32 step with the fastest kernel this CPU runs (chosen at run time). */
static void fb_adam_step_float(ptrdiff_t n, float *w, const float *grad, float *m, float *v,
                               float l2, float lr, float beta_1, float beta_2, float epsilon)
{
#ifdef FB_HAVE_AVX512_ADAM
    if (__builtin_cpu_supports("avx512f")) {
        fb_adam_float_avx512(n, w, grad, m, v, l2, lr, beta_1, beta_2, epsilon);
        return;
    }
#endif
    fb_adam_float(n, w, grad, m, v, l2, lr, beta_1, beta_2, epsilon);
}

#endif /* FASTBLAS_MLP_UPDATE_H */
