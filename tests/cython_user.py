"""Build a tiny Cython extension that cimports fastblas, as another package would
(imported by tests/test_cython_api.py and tests/test_exact_cython_api.py)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import fastblas

SETUP = textwrap.dedent("""
    import os
    import sys
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    name, include, flags = sys.argv[1:4]
    link_npymath = sys.argv[4] == "npymath"
    del sys.argv[1:]
    # NumPy's npymath (npy_float_to_half...) sits beside its C headers
    npymath = dict(library_dirs=[os.path.join(os.path.dirname(np.get_include()), "lib")],
                   libraries=["npymath"]) if link_npymath else {}
    setup(
        name=name,
        script_args=["build_ext", "--inplace", "-q"],
        ext_modules=cythonize(
            [Extension(name, [name + ".pyx"], include_dirs=[np.get_include()],
                       extra_compile_args=flags.split(), **npymath)],
            include_path=[include], quiet=True,
        ),
    )
""")


def _have_c_compiler():
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    return bool(cc) and shutil.which(cc[0]) is not None


def build_user_module(tmp, name, pyx, *, flags="-O0", npymath=False):
    """Write `pyx` as module `name` in directory `tmp`, build it against
    fastblas.get_include() with the compiler flags `flags` (space-separated),
    linking NumPy's npymath when asked, and import it; skip when Cython,
    setuptools or a C compiler is missing."""
    pytest.importorskip("Cython")
    pytest.importorskip("setuptools")
    if not _have_c_compiler():
        pytest.skip("no C compiler")
    include = fastblas.get_include()
    assert os.path.isfile(os.path.join(include, "fastblas", "cyblas.pxd")), (
        f"fastblas.get_include() = {include!r} has no fastblas/cyblas.pxd")
    (tmp / f"{name}.pyx").write_text(pyx)
    (tmp / "setup.py").write_text(SETUP)
    proc = subprocess.run(
        [sys.executable, "setup.py", name, include, flags, "npymath" if npymath else "-"],
        cwd=tmp, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    built = [p for p in os.listdir(tmp)
             if p.startswith(f"{name}.") and p.endswith((".so", ".pyd"))]
    assert built, os.listdir(tmp)
    spec = importlib.util.spec_from_file_location(name, tmp / built[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
