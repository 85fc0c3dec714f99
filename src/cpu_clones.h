/* cpu_clones.h: FB_CLONES, for the elementwise loops of the training engines.
 *
 * A function marked FB_CLONES is built three times (GCC/Clang target_clones:
 * AVX-512F, AVX2, the baseline x86-64) and the loader picks the widest the CPU
 * supports: the wheel stays portable (no -march=native) and the loop runs 16
 * floats at a time where AVX-512 is present. Elsewhere, one plain build.
 */
#ifndef FASTBLAS_CPU_CLONES_H
#define FASTBLAS_CPU_CLONES_H

#if defined(__x86_64__) && defined(__linux__) && \
    (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 6))
#define FB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FB_CLONES
#endif

#endif /* FASTBLAS_CPU_CLONES_H */
