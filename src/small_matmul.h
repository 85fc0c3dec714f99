/* small_matmul.h: a stack of small float/double products C_s = A_s B_s in one
 * pass, with no call per matrix.
 *
 * A row of C is one GCC vector of n elements (n = 2, 4, 8, 16, at most 64 bytes:
 * one AVX-512 register), built as C[i, :] = sum_p A[i, p] * B[p, :] with
 * FB_SMALL_ROWS rows of C at a time, so that as many accumulator chains run
 * side by side. C[i, j] therefore sums its k products in order p = 0, ..., k-1,
 * as a naive dot does; BLAS may sum in another order, so the two agree to
 * rounding.
 *
 * Layout: A any element strides (read one scalar at a time); B and C rows
 * contiguous (unit column stride), any row stride, rows moved with memcpy as they
 * need not be aligned; the matrices of the stack any stride apart (0 broadcasts
 * one matrix over the stack). Strides in elements.
 *
 * The stack functions are built three times (GCC target_clones: x86-64-v4
 * with AVX-512, v3 with AVX2 and FMA, the baseline x86-64) and the loader picks
 * the widest the CPU supports: the wheel stays portable (no -march=native), and
 * a vector wider than the target's registers is split by the compiler.
 * Elsewhere (Clang, older GCC), one plain build.
 */
#ifndef FASTBLAS_SMALL_MATMUL_H
#define FASTBLAS_SMALL_MATMUL_H

#include <stddef.h>

/* GCC 11 named the x86-64-v3/v4 levels. The plain "avx512f"/"avx2" clones would
 * lack FMA (a separate multiply and add per term). */
#if defined(__x86_64__) && defined(__linux__) && !defined(__clang__) && \
    defined(__GNUC__) && __GNUC__ >= 11
#define FB_SMALL_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FB_SMALL_CLONES
#endif

#define FB_SMALL_ROWS 4

/* C[i:i+R, :] = A[i:i+R, :] B, R <= FB_SMALL_ROWS, for rows of W elements */
#define FB_DEFINE_ROWS(T, NAME, W)                                                   \
typedef T fb_##NAME##x##W __attribute__((vector_size(W * sizeof(T))));               \
static inline __attribute__((always_inline)) void fb_small_rows_##NAME##x##W(       \
    const ptrdiff_t R, ptrdiff_t k, const T *restrict a, ptrdiff_t ars,              \
    ptrdiff_t acs, const T *restrict b, ptrdiff_t brs, T *restrict c, ptrdiff_t crs) \
{                                                                                    \
    fb_##NAME##x##W acc[FB_SMALL_ROWS], row;                                         \
    for (ptrdiff_t r = 0; r < R; r++)                                                \
        acc[r] = (fb_##NAME##x##W){0};                                               \
    for (ptrdiff_t p = 0; p < k; p++) {                                              \
        __builtin_memcpy(&row, b + p * brs, sizeof row);                             \
        for (ptrdiff_t r = 0; r < R; r++)                                            \
            acc[r] += a[r * ars + p * acs] * row;                                    \
    }                                                                                \
    for (ptrdiff_t r = 0; r < R; r++)                                                \
        __builtin_memcpy(c + r * crs, &acc[r], sizeof row);                          \
}                                                                                    \
                                                                                     \
static inline __attribute__((always_inline)) void fb_small_product_##NAME##x##W(    \
    ptrdiff_t m, ptrdiff_t k, const T *restrict a, ptrdiff_t ars, ptrdiff_t acs,     \
    const T *restrict b, ptrdiff_t brs, T *restrict c, ptrdiff_t crs)                \
{                                                                                    \
    ptrdiff_t i = 0;                                                                 \
    for (; i + FB_SMALL_ROWS <= m; i += FB_SMALL_ROWS)                               \
        fb_small_rows_##NAME##x##W(FB_SMALL_ROWS, k, a + i * ars, ars, acs, b, brs,  \
                                   c + i * crs, crs);                                \
    for (; i < m; i++)                                                               \
        fb_small_rows_##NAME##x##W(1, k, a + i * ars, ars, acs, b, brs,              \
                                   c + i * crs, crs);                                \
}

#define FB_SMALL_CASE(NAME, W)                                                       \
    case W:                                                                          \
        for (ptrdiff_t s = 0; s < count; s++)                                        \
            fb_small_product_##NAME##x##W(m, k, a + s * as, ars, acs, b + s * bs,    \
                                          brs, c + s * cs, crs);                     \
        return 0;

/* C_s = A_s B_s for s < count, A_s = a + s*as, B_s = b + s*bs, C_s = c + s*cs;
 * -1 (nothing done) when n is not one of the widths WIDTHS lists. */
#define FB_DEFINE_SMALL_MATMUL(T, NAME, WIDTHS)                                       \
WIDTHS(FB_DEFINE_ROWS, T, NAME)                                                      \
FB_SMALL_CLONES static int fb_small_matmul_##NAME(                                  \
    ptrdiff_t count, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,                          \
    const T *a, ptrdiff_t as, ptrdiff_t ars, ptrdiff_t acs,                          \
    const T *b, ptrdiff_t bs, ptrdiff_t brs,                                         \
    T *c, ptrdiff_t cs, ptrdiff_t crs)                                               \
{                                                                                    \
    switch (n) {                                                                     \
    WIDTHS(FB_SMALL_CASE_OF, T, NAME)                                                \
    }                                                                                \
    return -1;                                                                       \
}

#define FB_SMALL_CASE_OF(T, NAME, W) FB_SMALL_CASE(NAME, W)
#define FB_FLOAT32_WIDTHS(X, T, NAME) X(T, NAME, 2) X(T, NAME, 4) X(T, NAME, 8) X(T, NAME, 16)
#define FB_FLOAT64_WIDTHS(X, T, NAME) X(T, NAME, 2) X(T, NAME, 4) X(T, NAME, 8)

FB_DEFINE_SMALL_MATMUL(float, float32, FB_FLOAT32_WIDTHS)
FB_DEFINE_SMALL_MATMUL(double, float64, FB_FLOAT64_WIDTHS)

/* Does the kernel have rows of n elements of itemsize bytes? (One 64-byte vector
 * at most: at 16 doubles, two registers a row, it lost to a BLAS call.) */
static inline int fb_small_width(ptrdiff_t n, ptrdiff_t itemsize)
{
    return (n == 2 || n == 4 || n == 8 || n == 16) && n * itemsize <= 64;
}

#undef FB_DEFINE_SMALL_MATMUL
#undef FB_FLOAT32_WIDTHS
#undef FB_FLOAT64_WIDTHS
#undef FB_SMALL_CASE_OF
#undef FB_SMALL_CASE
#undef FB_DEFINE_ROWS

#endif
