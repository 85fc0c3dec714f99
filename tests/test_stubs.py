"""fastblas/_blas.pyi matches the compiled module, and mypy uses it.

The stub is read from the package that is imported, so with an installed fastblas
these tests also check that the wheel ships ``_blas.pyi`` and ``py.typed``.
"""
import ast
import inspect
import site
import textwrap
from pathlib import Path

import pytest

import fastblas
from fastblas import _blas

PACKAGE = Path(fastblas.__file__).resolve().parent


def _stub_functions():
    """name -> ast.FunctionDef of every function in the stub (the first overload)."""
    tree = ast.parse((PACKAGE / "_blas.pyi").read_text())
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions.setdefault(node.name, node)
    return functions


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()


def test_stub_names_are_the_public_api():
    stubbed = _stub_functions()
    # show_config is written in Python (fastblas/_config.py), not stubbed
    assert ({name for name in stubbed if not name.startswith("_")}
            == set(fastblas.__all__) - {"show_config"})
    missing = [name for name in stubbed if not callable(getattr(_blas, name, None))]
    assert not missing, f"in the stub but not in fastblas._blas: {missing}"


def test_stub_signatures_match_the_compiled_functions():
    required = object()
    for name, node in _stub_functions().items():
        try:
            signature = inspect.signature(getattr(_blas, name))
        except (TypeError, ValueError):  # compiled without signature information
            continue
        args = node.args
        assert not (args.posonlyargs or args.kwonlyargs or args.vararg), name
        var_keyword = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
        assert (args.kwarg is None) == (not var_keyword), name   # matmul's **kwargs
        stub = [(a.arg, required) for a in args.args[:len(args.args) - len(args.defaults)]]
        stub += [(a.arg, ast.literal_eval(d))
                 for a, d in zip(args.args[len(args.args) - len(args.defaults):], args.defaults)]
        compiled = [(p.name, required if p.default is inspect.Parameter.empty else p.default)
                    for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        assert stub == compiled, name


GOOD = """
    import numpy as np
    import fastblas as fb

    x = np.random.default_rng(0).random(32, dtype=np.float32)
    y = np.ones(32, np.float32)
    A = np.ones((4, 32), np.float32)
    s = fb.dot(x, y)
    out: np.ndarray = fb.dot(A, x, out=np.empty(4, np.float32))
    d: np.float64 = fb.dsdot(x, y)
    y2: "np.ndarray[tuple[int, ...], np.dtype[np.float32]]" = fb.axpy(2.0, x, y)
    n: np.float32 = fb.nrm2(x)
    n64: np.float64 = fb.asum(np.ones(3))
    i: int = fb.iamax(x)
    fb.scal(np.float32(3), x)
    fb.copy(x, y)
    xs, ys = fb.swap(x, y)
    v = fb.gemv(1.0, A, x, beta=0.5, y=np.zeros(4, np.float32), trans=False)
    fb.ger(1.0, np.ones(4, np.float32), x, A)
    C = fb.gemm(1.0, A, A.T, 0.0, None, trans_a=False, trans_b=False)
    fb.show_config()
    z = np.ones(32, np.complex64)
    Z = np.ones((4, 32), np.complex64)
    z2: "np.ndarray[tuple[int, ...], np.dtype[np.complex64]]" = fb.axpy(1 - 2j, z, z)
    fb.scal(0.5, z)
    fb.scal(np.complex64(2j), z)
    nz: np.float32 = fb.nrm2(z)
    az: np.float64 = fb.asum(np.ones(3, np.complex128))
    fb.gemv(1j, Z, z, beta=0.5 + 1j, y=np.zeros(4, np.complex64))
    fb.ger(2.0, np.ones(4, np.complex64), z, Z)
    CZ = fb.gemm(1 + 1j, Z, Z.T, 0.0)
    fb.copy(z, z)
"""
# mypy must flag exactly the lines marked "# E".
BAD = """
    import numpy as np
    import fastblas as fb

    x = np.ones(3, np.float32)
    d = np.ones(3)
    fb.axpy(1.0, x, d)  # E mixed dtypes
    fb.scal(1j, x)  # E complex alpha
    fb.nrm2(np.ones(3, np.int64))  # E not float32/float64
    wrong: np.float64 = fb.nrm2(x)  # E nrm2 of float32 is float32
    fb.gemm(1.0, x, x, trans_a="N")  # E trans_a is a bool
    fb.dsdot(d, d)  # E dsdot takes float32
    fb.gemv(1.0, x)  # E x missing
    z = np.ones(3, np.complex64)
    fb.axpy(1.0, z, x)  # E complex with real
    fb.gemm(1j, np.ones((2, 2)), np.ones((2, 2)))  # E complex alpha, real arrays
    wrongz: np.complex64 = fb.nrm2(z)  # E nrm2 of complex64 is float32
"""


def _mypy(tmp_path, monkeypatch, source):
    api = pytest.importorskip("mypy.api")
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    if str(PACKAGE.parent) in site.getsitepackages() + [site.getusersitepackages()]:
        monkeypatch.delenv("MYPYPATH", raising=False)  # installed: found as a PEP 561 package
    else:
        monkeypatch.setenv("MYPYPATH", str(PACKAGE.parent))  # built in place
    stdout, stderr, status = api.run(
        [str(path), "--no-error-summary", "--follow-imports", "silent",
         "--cache-dir", str(tmp_path / "mypy_cache")])
    return stdout + stderr, status


def test_mypy_accepts_correct_use(tmp_path, monkeypatch):
    output, status = _mypy(tmp_path, monkeypatch, GOOD)
    assert status == 0, output


def test_mypy_flags_every_misuse(tmp_path, monkeypatch):
    output, status = _mypy(tmp_path, monkeypatch, BAD)
    assert status == 1, output
    flagged = {int(line.split(":")[1]) for line in output.splitlines() if ": error:" in line}
    marked = {number for number, line in enumerate(textwrap.dedent(BAD).splitlines(), 1)
              if "# E" in line}
    assert flagged == marked, output
