/* mlp_update.h: the optimizer steps of fastblas._mlp, one loop each over a block
 * of parameters, compiled for the CPU they run on.
 *
 * Each function is built three times (GCC/Clang target_clones: AVX-512F, AVX2,
 * the baseline x86-64) and the loader picks the widest the CPU supports: the
 * wheel stays portable (no -march=native) and Adam's sqrt and division run 16
 * floats at a time where AVX-512 is present. Elsewhere, one plain build.
 *
 * Included by the generated _mlp.c, which is compiled with -fno-math-errno so
 * that sqrt vectorises (it need not set errno).
 */
#ifndef FASTBLAS_MLP_UPDATE_H
#define FASTBLAS_MLP_UPDATE_H

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__linux__) && \
    (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 6))
#define FB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FB_CLONES
#endif

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

#endif /* FASTBLAS_MLP_UPDATE_H */
