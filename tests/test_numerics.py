"""Importing (and using) fastblas changes nothing in NumPy's numerics: subnormals
survive (no flush-to-zero / denormals-are-zero from a -ffast-math link).

Checked in a fresh interpreter, so that nothing imported by the test session
(which may itself set the FPU state) can hide the effect of the import."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

import fastblas

PROBE = r"""
import numpy as np

def subnormal_results():
    f32 = np.float32(1e-39)                 # subnormal: below finfo(float32).tiny
    tiny = np.finfo(np.float64).tiny
    return {
        "float32 scalar * 1": float(f32 * np.float32(1.0)),
        "float32 array * 1": float((np.full(64, f32) * np.float32(1.0)).min()),
        "float32 subnormal + 0": float(np.float32(1e-39) + np.float32(0.0)),
        "float64 tiny / 2": float(np.float64(tiny) / 2),
        "float64 array tiny / 2": float((np.full(64, tiny) / 2).min()),
        "float64 smallest subnormal": float(np.nextafter(0.0, 1.0) * 1.0),
        "float64 tiny * 0.5 (array)": float((np.full(8, tiny) * 0.5).max()),
    }

before = subnormal_results()
import fastblas
after_import = subnormal_results()
x = np.full(100, 1e-39, np.float32)
fastblas.dot(x, x); fastblas.nrm2(x); fastblas.scal(1.0, x)
fastblas.gemm(1.0, np.ones((64, 64)), np.ones((64, 64)))
after_use = subnormal_results()
print(repr((before, after_import, after_use)))
"""


def test_subnormals_survive_import_in_fresh_process():
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastblas.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    before, after_import, after_use = eval(proc.stdout.strip().splitlines()[-1])
    for what, value in before.items():
        assert value > 0, f"{what} is 0 even before importing fastblas"
        assert after_import[what] == value, (
            f"{what}: {value!r} before `import fastblas`, {after_import[what]!r} after")
        assert after_use[what] == value, (
            f"{what}: {value!r} before, {after_use[what]!r} after calling fastblas")


def test_subnormals_in_this_process():
    assert np.float32(1e-39) * np.float32(1) != 0
    assert np.finfo(np.float64).tiny / 2 > 0
    assert np.finfo(np.float32).tiny / np.float32(2) > 0


def test_subnormal_inputs_give_subnormal_results():
    """BLAS itself keeps subnormals (scal of a subnormal by 1 leaves it)."""
    x = np.full(33, 1e-39, np.float32)
    fastblas.scal(1.0, x)
    assert np.all(x == np.float32(1e-39))
    y = np.full(5, 5e-324)
    assert fastblas.asum(y) == 5 * 5e-324


def test_extensions_not_linked_with_fast_math():
    """-ffast-math at link time pulls in crtfastmath.o, whose constructor
    set_fast_math turns on flush-to-zero for the whole process."""
    package = os.path.dirname(os.path.abspath(fastblas.__file__))
    libs = glob.glob(os.path.join(package, "*.so")) + \
        glob.glob(os.path.join(package, "*.pyd"))
    if not libs:
        pytest.skip("no compiled extension found next to fastblas/__init__.py")
    for lib in libs:
        with open(lib, "rb") as f:
            assert b"set_fast_math" not in f.read(), f"{lib} links crtfastmath.o"
