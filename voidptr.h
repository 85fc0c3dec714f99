/* voidptr.h: the few lines of C that let the Python-facing functions hand an
 * ndarray's buffer to BLAS without a typed memoryview (which costs ~80 ns per
 * argument, see DESIGN.md) and box a BLAS result as a NumPy scalar.
 *
 * Include after numpy/arrayobject.h (Cython does so when the .pyx cimports numpy).
 */
#ifndef FASTBLAS_VOIDPTR_H
#define FASTBLAS_VOIDPTR_H

#include <Python.h>
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>

/* The buffer of `arr` as void*, borrowed: valid while `arr` is alive. */
static inline void *fb_data(PyObject *arr)
{
    return PyArray_DATA((PyArrayObject *)arr);
}

/* The address BLAS expects for a vector of `n` elements `step` bytes apart whose
 * element 0 is at `first`: BLAS walks a negative increment from the lowest
 * address, i.e. from element n-1. */
static inline void *fb_blas_start(void *first, npy_intp n, npy_intp step)
{
    return (step < 0 && n > 0) ? (char *)first + (n - 1) * step : first;
}

/* NumPy scalars of the BLAS result, as np.dot returns them (np.float32, np.float64). */
static inline PyObject *fb_float32_scalar(float value)
{
    PyObject *obj = PyArrayScalar_New(Float);
    if (obj != NULL) {
        PyArrayScalar_ASSIGN(obj, Float, value);
    }
    return obj;
}

static inline PyObject *fb_float64_scalar(double value)
{
    PyObject *obj = PyArrayScalar_New(Double);
    if (obj != NULL) {
        PyArrayScalar_ASSIGN(obj, Double, value);
    }
    return obj;
}

#endif /* FASTBLAS_VOIDPTR_H */
