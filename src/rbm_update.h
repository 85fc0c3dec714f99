/* rbm_update.h: the elementwise loops of fastblas._rbm that run over every unit
 * or parameter of a minibatch, compiled for the CPU they run on (cpu_clones.h).
 * Measured alone on an AMD EPYC with AVX-512 (2 vCPUs): the Bernoulli
 * comparison takes 0.11 ns a unit against 0.36 for the baseline x86-64 build
 * (two doubles an instruction), and the momentum step over a 784 x 500 float32
 * weight matrix, read from L3, 44 us against 55 (memory-bound).
 */
#ifndef FASTBLAS_RBM_UPDATE_H
#define FASTBLAS_RBM_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_clones.h"

/* out[i] = 1 if r[i] / 2^32 < p[i] else 0: a Bernoulli sample from the 32-bit
 * draws r (out may be p). r / 2^32 is computed exactly in double precision, as
 * (int32(r ^ 2^31) + 2^31) 2^-32: the signed conversion is the one every SIMD
 * instruction set has. A float p converts to double exactly, so a float32 and a
 * float64 model compare their probabilities with the same uniforms. */
#define FB_DEFINE_RBM_UPDATES(T, NAME)                                               \
FB_CLONES static void fb_bernoulli_##NAME(ptrdiff_t n, const T *p, T *out,         \
                                          const uint32_t *r)                       \
{                                                                                  \
    for (ptrdiff_t i = 0; i < n; i++) {                                            \
        double u = (double)(int32_t)(r[i] ^ 0x80000000u) + 2147483648.0;           \
        out[i] = u * 0x1p-32 < (double)p[i];                                        \
    }                                                                              \
}                                                                                  \
/* The momentum step, one pass: step -= decay w;  w += step;  step *= momentum.    \
 * On entry step holds momentum * (the last step) + the scaled gradient. */        \
FB_CLONES static void fb_take_step_##NAME(ptrdiff_t n, T decay, T momentum,        \
                                          T *restrict step, T *restrict w)         \
{                                                                                  \
    if (decay == 0) {                                                              \
        for (ptrdiff_t i = 0; i < n; i++) {                                        \
            w[i] += step[i];                                                       \
            step[i] *= momentum;                                                   \
        }                                                                          \
    } else {                                                                       \
        for (ptrdiff_t i = 0; i < n; i++) {                                        \
            step[i] -= decay * w[i];                                               \
            w[i] += step[i];                                                       \
            step[i] *= momentum;                                                   \
        }                                                                          \
    }                                                                              \
}

FB_DEFINE_RBM_UPDATES(float, float)
FB_DEFINE_RBM_UPDATES(double, double)

#undef FB_DEFINE_RBM_UPDATES

#endif /* FASTBLAS_RBM_UPDATE_H */
