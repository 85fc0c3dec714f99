"""The command line, end to end in subprocesses on tiny settings.

The subprocesses run ``python -m fastblas`` from a temporary directory (not the
repository root, whose ./fastblas source would shadow the installed package),
with PYTHONPATH set to the directory holding the fastblas this test imported:
site-packages in CI, the worktree with an in-place build while developing.
"""
import importlib
import importlib.util
import io
import os
import pickle
import re
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import fastblas
from fastblas.__main__ import EpochProgress, import_benchmark

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastblas.__file__)))
TINY = ["--epochs", "2", "--hidden", "16", "--n-train", "300", "--n-test", "200"]


def run_cli(cwd, *args, extra_path=(), timeout=300):
    paths = [*map(str, extra_path), PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    return subprocess.run([sys.executable, "-m", "fastblas", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def fastblas_estimator_available(name):
    try:
        getattr(importlib.import_module("fastblas.nn"), name)
        return True
    except ImportError:
        return False


def decode_png(path):
    image = pytest.importorskip("matplotlib.image").imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert image.std() > 0   # not a blank canvas
    return image


def test_train_on_a_fresh_machine_uses_the_embedded_subset_and_says_so(monkeypatch, capsys):
    """In process, without FASTBLAS_DATA or the Debian package (whatever this machine has)."""
    from fastblas import datasets
    from fastblas.__main__ import main
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", "/nonexistent")
    assert main(["train", "mlp", "--impl", "numpy", "--epochs", "1", "--hidden", "8"]) == 0
    out = capsys.readouterr().out
    assert "data: 5000 training and 1000 test images, the small Fashion-MNIST subset" in out
    assert "apt-get install dataset-fashion-mnist" in out
    assert "numpy mlp: epoch 1/1" in out


def test_train_rbm_numpy_reference_plots_filters_and_saves(tmp_path):
    pytest.importorskip("matplotlib")
    out = ok(run_cli(tmp_path, "train", "rbm", "--impl", "numpy", *TINY,
                     "--plot", "filters.png", "--save", "rbm.pkl"))
    for epoch in (1, 2):
        assert f"numpy rbm: epoch {epoch}/2  recon error" in out
    assert "samples/s" in out
    decode_png(tmp_path / "filters.png")
    with open(tmp_path / "rbm.pkl", "rb") as f:
        model = pickle.load(f)
    assert model.components_.shape == (16, 784)


def test_train_mlp_numpy_reference_plots_curves_and_saves(tmp_path):
    pytest.importorskip("matplotlib")
    out = ok(run_cli(tmp_path, "train", "mlp", "--impl", "numpy", *TINY, "--dtype", "float64",
                     "--plot", "curves.png", "--save", "mlp.pkl"))
    assert "numpy mlp: epoch 2/2  loss" in out and "test acc" in out
    decode_png(tmp_path / "curves.png")
    with open(tmp_path / "mlp.pkl", "rb") as f:
        model = pickle.load(f)
    assert model.coefs_[0].dtype == np.float64
    assert model.predict(np.zeros((3, 784))).shape == (3,)


@pytest.mark.parametrize("kind, estimator", [("rbm", "BernoulliRBM"), ("mlp", "MLPClassifier")])
def test_train_uses_fastblas_nn_or_says_it_falls_back(tmp_path, kind, estimator):
    out = ok(run_cli(tmp_path, "train", kind, *TINY))
    if fastblas_estimator_available(estimator):
        assert f"fastblas {kind}: epoch 2/2" in out
        assert "not available" not in out
    else:
        assert f"fastblas.nn.{estimator} is not available" in out
        assert "training the NumPy reference instead" in out
        assert f"numpy {kind}: epoch 2/2" in out


def test_train_fastblas_rbm_plots_its_filters(tmp_path):
    if not fastblas_estimator_available("BernoulliRBM"):
        pytest.skip("fastblas.nn.BernoulliRBM is not built yet")
    pytest.importorskip("matplotlib")
    ok(run_cli(tmp_path, "train", "rbm", *TINY, "--plot", "filters.png"))
    decode_png(tmp_path / "filters.png")


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path):
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    result = run_cli(tmp_path, "train", "rbm", "--impl", "numpy", *TINY, "--plot", "x.png",
                     extra_path=[tmp_path / "shadow"])
    assert result.returncode == 2
    assert 'pip install "fastblas[plot]"' in result.stderr
    assert "epoch" not in result.stdout     # refused before training
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, message", [
    (["train", "rbm", "--epochs", "0"], "--epochs"),
    (["train", "rbm", "--hidden", "64,32"], "one hidden layer"),
    (["train", "mlp", "--impl", "numpy", "--hidden", "64,32"], "one hidden layer"),
    (["train", "mlp", "--lr", "-1"], "--lr"),
    (["train", "gan"], "invalid choice"),
    (["bench", "nothing"], "invalid choice"),
])
def test_bad_options_are_refused_by_name(tmp_path, args, message):
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize("command", [["train", "rbm"], ["bench", "train", "--quick"]])
def test_missing_data_directory_is_a_clean_error(tmp_path, command):
    missing = tmp_path / "no-such-dir"
    result = run_cli(tmp_path, *command, "--data", missing)
    assert result.returncode == 1
    assert "cannot load Fashion-MNIST" in result.stderr and str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_train_quick(tmp_path):
    plot = importlib.util.find_spec("matplotlib") is not None
    out = ok(run_cli(tmp_path, "bench", "train", "mlp", "--quick",
                     *(["--plot", "bench.png"] if plot else [])))
    assert "one training epoch over 500" in out
    for contender in ("numpy reference", "gemm floor", "gemm floor, NumPy's BLAS"):
        rows = [line for line in out.splitlines() if line.startswith(contender + " ")]
        assert len(rows) == 2, out      # float32 and float64
    assert "speed-up vs numpy" in out
    if plot:
        decode_png(tmp_path / "bench.png")


def test_demo_quick(tmp_path):
    try:
        import_benchmark("bench_level1")
    except ImportError:
        pytest.skip("benchmarks/bench_level1.py is not there yet")
    out = ok(run_cli(tmp_path, "demo", "--quick"))
    assert "level-1" in out
    assert "Bernoulli RBM 784-64" in out and "test reconstruction error" in out
    assert "MLP 784-64-10" in out and "test accuracy" in out
    if all(map(fastblas_estimator_available, ["BernoulliRBM", "MLPClassifier"])):
        assert len(re.findall(r"interleaved, median of \d+\): fastblas", out)) == 2


def test_console_script_reports_the_version(tmp_path):
    # the environment's scripts directory first: a venv's bin/ need not be on PATH
    script = shutil.which("fastblas", path=os.pathsep.join(
        [sysconfig.get_path("scripts"), os.environ.get("PATH", "")]))
    if script is None:
        pytest.skip("the fastblas console script is not installed")
    result = subprocess.run([script, "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and fastblas.__version__ in result.stdout


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_epoch_progress_times_epochs_and_reports(terminal):
    if terminal:
        pytest.importorskip("tqdm")
    stream = FakeTerminal() if terminal else io.StringIO()
    evaluated = []

    def evaluate(model):
        evaluated.append(model)
        return {"loss": 1.0 / (len(evaluated))}

    progress = EpochProgress("test", 3, 1000, evaluate, stream=stream)
    for epoch in (1, 2, 3):
        progress(epoch, "model")
    progress.close()
    assert evaluated == ["model"] * 3
    assert [r["epoch"] for r in progress.records] == [1, 2, 3]
    assert [r["loss"] for r in progress.records] == [1.0, 0.5, 1 / 3]
    assert all(r["seconds"] > 0 for r in progress.records)
    text = stream.getvalue()
    if terminal:
        assert "3/3" in text and "\r" in text      # a tqdm bar
    else:
        assert text.splitlines()[2].startswith("test: epoch 3/3  loss 0.3333  samples/s")
