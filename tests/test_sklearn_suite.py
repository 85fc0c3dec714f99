"""scikit-learn's own tests of its neural-network estimators, run on fastblas.nn's.

The installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` and
``test_rbm.py`` are copied, their ``from sklearn.neural_network import ...`` lines
pointed at ``fastblas.nn``, and run by pytest in a subprocess with
scikit-learn's conftest (its fixtures and markers). Every test must
pass except those in EXCEPTIONS: tests that pin scikit-learn's exact random
numbers (fastblas draws from a numpy.random.Generator, not a RandomState) or call
its private helpers.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

sklearn = pytest.importorskip("sklearn")

import fastblas  # noqa: E402

SUITE = ("test_mlp.py", "test_rbm.py")

# node id prefix -> why it cannot pass on fastblas.nn
EXCEPTIONS = {
    "test_mlp.py::test_gradient":
        "calls scikit-learn's private _loss_grad_lbfgs with the buffers of its NumPy "
        "passes (fastblas's objective is checked against finite differences and "
        "scikit-learn's _backprop in tests/test_mlp.py)",
    "test_mlp.py::test_lbfgs_regression_maxfun":
        "pins scikit-learn's random numbers: it expects a ConvergenceWarning, but "
        "whether L-BFGS converges within max_fun=10 evaluations depends on the "
        "initial weights (about half of all seeds converge, in scikit-learn as in "
        "fastblas)",
    "test_mlp.py::test_partial_fit_unseen_classes":
        "pins scikit-learn's random numbers: one Adam step from random weights "
        "scores 0 on its four points for about one seed in ten (in scikit-learn "
        "too); fastblas's seed 0 is one of them",
    "test_rbm.py::test_fit_gibbs":
        "pins scikit-learn's random numbers (components_ after 42 epochs, to 4 decimals)",
    "test_rbm.py::test_sample_hiddens":
        "calls scikit-learn's private _sample_hiddens",
}

IMPORT = re.compile(r"^from sklearn\.neural_network import ", re.MULTILINE)


def test_sklearn_neural_network_tests_pass_on_fastblas(tmp_path):
    tests = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests"
    for name in SUITE:
        source = (tests / name).read_text()
        rewritten, count = IMPORT.subn("from fastblas.nn import ", source)
        assert count == 1, f"{name}: expected one import from sklearn.neural_network"
        (tmp_path / name).write_text(rewritten)

    # the fastblas this session imports (an in-place build, or the installed one)
    root = str(pathlib.Path(fastblas.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    # sklearn.conftest: the fixtures (global_random_seed) and markers the tests use
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-p", "sklearn.conftest", "--rootdir", str(tmp_path), *SUITE]
    for node in EXCEPTIONS:
        command += ["--deselect", node]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    deselected = int(re.search(r"(\d+) deselected", summary).group(1))
    assert "failed" not in summary and "error" not in summary, summary
    assert passed > 50, summary
    assert deselected >= len(EXCEPTIONS), summary     # each exception still names a test
