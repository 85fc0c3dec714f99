"""The command line: end to end in subprocesses on tiny settings, and its parts in process.

The subprocesses run ``python -m fastblas`` from a temporary directory (not the
repository root, whose ./fastblas source would shadow the installed package),
with PYTHONPATH set to the directory holding the fastblas this test imported:
site-packages in CI, the worktree with an in-place build while developing.
No test here looks at a time or at how a time is printed.
"""
import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import fastblas
from fastblas import _recipes, datasets
from fastblas.__main__ import main
from fastblas.cli import bench
from fastblas.cli._progress import Progress
from fastblas.cli._training import EpochTrainer, Interrupted, StopRequest

pytest.importorskip("sklearn")     # fastblas.nn and the CLI's models need it

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastblas.__file__)))
TINY = ["--epochs", "2", "--hidden", "16", "--n-train", "300", "--n-test", "200",
        "--threads", "1"]


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory):
    """One decompression cache for this module's subprocesses, never the user's."""
    return tmp_path_factory.mktemp("xdg-cache")


def run_cli(cwd, cache_home, *args, extra_path=(), timeout=300):
    paths = [*map(str, extra_path), PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p),
               XDG_CACHE_HOME=str(cache_home))
    return subprocess.run([sys.executable, "-m", "fastblas", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def decode_png(path):
    image = pytest.importorskip("matplotlib.image").imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert image.std() > 0   # not a blank canvas
    return image


@pytest.fixture
def embedded_data_only(monkeypatch):
    """In process: neither FASTBLAS_DATA nor the Debian package, whatever this machine has."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIR", "/nonexistent")


# ---------------------------------------------------------------- train, end to end

def test_train_on_a_fresh_machine_uses_the_embedded_subset_and_says_so(
        embedded_data_only, capsys):
    assert main(["train", "mlp", "--epochs", "1", "--hidden", "8", "--n-test", "100"]) == 0
    out = capsys.readouterr().out
    assert "data: 5,000 training and 100 test images, the small Fashion-MNIST subset" in out
    assert "apt-get install dataset-fashion-mnist" in out
    assert "fastblas mlp: epoch 1/1  loss" in out and "test accuracy" in out


def test_train_rbm_plots_its_filters_and_saves_the_model(tmp_path, cache_home):
    pytest.importorskip("matplotlib")
    out = ok(run_cli(tmp_path, cache_home, "train", "rbm", *TINY,
                     "--plot", "filters.png", "--save", "rbm.pkl"))
    for epoch in (1, 2):
        assert f"fastblas rbm: epoch {epoch}/2  test reconstruction error" in out
    assert "model saved to rbm.pkl" in out and "model plotted to filters.png" in out
    decode_png(tmp_path / "filters.png")
    with open(tmp_path / "rbm.pkl", "rb") as f:
        model = pickle.load(f)
    assert type(model).__module__.startswith("fastblas.nn")
    assert model.components_.shape == (16, 784)


@pytest.mark.parametrize("library", ["numpy", "sklearn"])
def test_train_mlp_of_another_library_plots_curves_and_saves(tmp_path, cache_home, library):
    pytest.importorskip("matplotlib")
    out = ok(run_cli(tmp_path, cache_home, "train", "mlp", "--library", library, *TINY,
                     "--dtype", "float64", "--plot", "curves.png", "--save", "mlp.pkl"))
    assert f"{library} mlp: epoch 2/2  loss" in out
    decode_png(tmp_path / "curves.png")
    with open(tmp_path / "mlp.pkl", "rb") as f:
        model = pickle.load(f)
    assert model.coefs_[0].dtype == np.float64
    assert model.predict(np.zeros((3, 784))).shape == (3,)


def test_ctrl_c_stops_saves_the_model_so_far_and_exits_130(tmp_path, cache_home):
    paths = [PACKAGE_PARENT, os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p),
               XDG_CACHE_HOME=str(cache_home))
    process = subprocess.Popen(
        [sys.executable, "-m", "fastblas", "train", "mlp", "--epochs", "100000", "--hidden",
         "16", "--n-train", "500", "--n-test", "50", "--save", "mlp.pkl"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:                 # plain lines: not a terminal
            if "epoch 1/100000" in line:
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, out + err
    assert "Traceback" not in err and "warn" not in err.lower()
    lines = (out + err).strip().splitlines()
    assert lines[-1].startswith("interrupted in epoch ")
    assert lines[-1].endswith("; the model so far is saved to mlp.pkl")
    with open(tmp_path / "mlp.pkl", "rb") as f:
        assert pickle.load(f).coefs_[0].shape == (784, 16)


def test_bench_runs_a_script_with_its_options(tmp_path, cache_home):
    out = ok(run_cli(tmp_path, cache_home, "bench", "level1", "--help"))
    assert "--quick" in out


def test_demo_quick_from_the_top_level_shows_every_part(tmp_path, cache_home):
    out = ok(run_cli(tmp_path, cache_home, "--quick", "--threads", "1"))
    assert "All timings run with 1 BLAS thread" in out
    for part in ("1. Small vectors", "2. Products NumPy computes without BLAS",
                 "3. MLP 784-100-10", "4. RBM 784-500"):
        assert part in out
    assert "fastblas.nn.MLPClassifier" in out and "sklearn.neural_network.MLPClassifier" in out
    assert "logistic regression, test accuracy: on the 784 pixels" in out


def test_console_script_reports_the_version(tmp_path):
    # the environment's scripts directory first: a venv's bin/ need not be on PATH
    script = shutil.which("fastblas", path=os.pathsep.join(
        [sysconfig.get_path("scripts"), os.environ.get("PATH", "")]))
    if script is None:
        pytest.skip("the fastblas console script is not installed")
    result = subprocess.run([script, "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and fastblas.__version__ in result.stdout


# ---------------------------------------------------------------- refusals, in process

@pytest.mark.parametrize("args, message", [
    (["train", "rbm", "--epochs", "abc"], "--epochs: expected a positive integer, got 'abc'"),
    (["train", "rbm", "--epochs", "0"], "--epochs: expected a positive integer, got '0'"),
    (["train", "rbm", "--hidden", "64,32"], "--hidden: the RBM has one hidden layer"),
    (["train", "mlp", "--hidden", "64,x"], "--hidden: expected positive layer sizes"),
    (["train", "mlp", "--lr", "-1"], "--lr: expected a positive number, got '-1'"),
    (["train", "rbm", "--momentum", "1"], "--momentum: expected a number in [0, 1)"),
    (["train", "mlp", "--library", "numpy", "--hidden", "64,32"], "--library numpy"),
    (["train", "rbm", "--library", "sklearn"], "BernoulliRBM trains by PCD-1 without momentum"),
    (["train", "gan"], "invalid choice: 'gan'"),
    (["bench", "nothing"], "invalid choice: 'nothing'"),
    (["--threads", "two"], "--threads: expected a positive integer, got 'two'"),
])
def test_bad_options_are_refused_by_name(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "argument " not in err


@pytest.mark.parametrize("option, path, message", [
    ("--save", "no-such-dir/model.pkl", "does not exist"),
    ("--plot", "no-such-dir/filters.png", "does not exist"),
    ("--plot", "filters.nope", "expected a file name ending in one of"),
    ("--save", ".", "expected a file name, got the directory"),
])
def test_output_paths_are_checked_before_training(tmp_path, monkeypatch, capsys, option, path,
                                                  message):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_recipes, "load_data", lambda *a, **k: pytest.fail("data loaded"))
    with pytest.raises(SystemExit) as info:
        main(["train", "rbm", option, path])
    assert info.value.code == 2
    assert f"{option}: " in capsys.readouterr().err and message


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, cache_home):
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    result = run_cli(tmp_path, cache_home, "train", "rbm", *TINY, "--plot", "x.png",
                     extra_path=[tmp_path / "shadow"])
    assert result.returncode == 2
    assert "--plot needs matplotlib: pip install matplotlib" in result.stderr
    assert "epoch" not in result.stdout     # refused before training
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", [["train", "rbm"], ["demo", "--quick"]])
def test_missing_data_directory_is_a_clean_error(tmp_path, capsys, command):
    missing = tmp_path / "no-such-dir"
    assert main([*command, "--data", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "cannot load Fashion-MNIST" in err and str(missing) in err


def test_help_is_plain_text_under_one_name(capsys):
    for args in ([], ["demo"], ["train"], ["bench"]):
        with pytest.raises(SystemExit):
            main([*args, "--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"usage: {' '.join(['fastblas', *args])} ")
        assert "``" not in out and ".py" not in out and "benchmarks/" not in out


def test_bench_offers_the_scripts_that_are_installed(monkeypatch):
    assert {"level1", "gemm", "train"} <= set(bench.available_scripts())
    real = bench.benchmark_module
    monkeypatch.setattr(bench, "benchmark_module",
                        lambda name: None if name == "bench_dtypes" else real(name))
    assert "dtypes" not in bench.available_scripts()
    monkeypatch.setattr(bench, "benchmark_module", lambda name: object())
    assert "dtypes" in bench.available_scripts()


def test_bench_passes_threads_and_options_to_the_script(monkeypatch):
    seen = []

    class Script:
        @staticmethod
        def main(argv):
            seen.append(argv)

    monkeypatch.setattr(bench, "benchmark_module", lambda name: Script)
    assert main(["bench", "--threads", "1", "gemm", "--quick"]) == 0
    assert seen == [["--quick", "--threads", "1"]]


# ---------------------------------------------------------------- training in slices

def small_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784), dtype=np.float32)
    return X, rng.integers(0, 10, n)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["rbm", "mlp", "mlp-adam"])
def test_training_in_slices_is_fit(name):
    """Epochs of partial_fit slices train the model fit trains, bit for bit."""
    recipe = _recipes.RECIPES[name].with_hidden(16)
    X, y = small_data()
    fitted = _recipes.make_estimator(recipe, epochs=3).fit(X, *([y] if recipe.model == "mlp"
                                                                else []))
    sliced = _recipes.make_estimator(recipe, epochs=3)
    trainer = EpochTrainer(sliced, recipe.model, "fastblas", recipe.batch_size, X,
                           y if recipe.model == "mlp" else None)
    for _ in range(3):
        done = []
        trainer.run_epoch(done.append)
        assert done[-1] == len(X) and done == sorted(done)
    if recipe.model == "mlp":
        for a, b in zip(fitted.coefs_ + fitted.intercepts_, sliced.coefs_ + sliced.intercepts_):
            np.testing.assert_array_equal(a, b)
        # one entry per epoch, each the epoch's mean loss, as fit records them
        np.testing.assert_allclose(sliced.loss_curve_, fitted.loss_curve_, rtol=1e-6)
        assert sliced.loss_ == sliced.loss_curve_[-1]
    else:
        np.testing.assert_array_equal(fitted.components_, sliced.components_)
        np.testing.assert_array_equal(fitted.intercept_hidden_, sliced.intercept_hidden_)


@pytest.mark.parametrize("kind", ["rbm", "mlp"])
def test_a_stop_request_ends_the_epoch_at_a_batch_boundary(kind):
    recipe = _recipes.RECIPES[kind].with_hidden(8)
    X, y = small_data()
    model = _recipes.make_estimator(recipe, epochs=1)
    trainer = EpochTrainer(model, kind, "fastblas", recipe.batch_size, X,
                           y if kind == "mlp" else None)
    trainer.run_epoch()
    stop = StopRequest()             # not entered: no signal handler, just the flag
    seen = []

    def progress(done):
        seen.append(done)
        stop.requested = True

    with pytest.raises(Interrupted) as info:
        trainer.run_epoch(progress, stop)
    assert info.value.epoch == 2
    assert info.value.batches == -(-seen[0] // recipe.batch_size) >= 1
    assert str(info.value).startswith("interrupted in epoch 2 after ")


def test_stop_request_catches_one_ctrl_c_and_lets_a_second_through():
    # Python's own handler is in place (conftest's python_sigint_handler)
    with StopRequest() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_train_honours_threads(monkeypatch, embedded_data_only, capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []
    real = EpochTrainer.run_epoch

    def run_epoch(self, *args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpoolctl.threadpool_info()
                    if p["user_api"] == "blas")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(EpochTrainer, "run_epoch", run_epoch)
    assert main(["train", "mlp", "--epochs", "1", "--hidden", "8", "--n-train", "200",
                 "--n-test", "50", "--threads", "1"]) == 0
    assert seen and set(seen) == {1}


# ---------------------------------------------------------------- progress

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_reports_images_and_epochs(terminal):
    if terminal:
        pytest.importorskip("tqdm")
    stream = FakeTerminal() if terminal else io.StringIO()
    progress = Progress("test", 2, 1000, stream=stream)
    for epoch in (1, 2):
        for done in (400, 1000):
            progress.advance(done)
        progress.end_epoch(epoch, {"loss": 1.0 / epoch}, seconds=0.5)
    progress.close()
    text = stream.getvalue()
    if terminal:
        assert "2/2" in text and "\r" in text and "img" in text   # tqdm bars
    else:
        lines = text.splitlines()
        assert len(lines) == 2
        assert lines[1].startswith("test: epoch 2/2  loss 0.5000  ")
