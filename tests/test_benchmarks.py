"""The comparison scripts run, on tiny settings, and their timing engine does what it says.

No speed, and nothing of how a time prints, is asserted here (speed lives in
benchmarks/): these tests check the interleaving, the statistics of given
samples, the option handling, the tables' rows and columns, the saved results,
and that each script runs end to end as a module and as a file.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import fastblas

from fastblas import _recipes

try:
    from fastblas.benchmarks import _timing, bench_gemm, bench_level1, bench_train
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks import _timing, bench_gemm, bench_level1, bench_train

TINY_LEVEL1 = ["--quick", "--sizes", "8,33", "--dtypes", "float64", "--repeat", "1"]
TINY_GEMM = ["--quick", "--sizes", "8", "--shapes", "3x5x4", "--repeat", "1"]


def test_parse_int_list():
    assert _timing.parse_int_list("8, 32,2**20,2^3") == [8, 32, 2**20, 8]
    for bad in ["x", "2**y", "-4", "8,,9"]:
        with pytest.raises(argparse.ArgumentTypeError, match="2\\*\\*20|negative"):
            _timing.parse_int_list(bad)


def test_time_interleaved_rotates_the_order_and_takes_the_median():
    calls = []

    def contender(name, seconds):
        def call():
            calls.append(name)
            time.sleep(seconds)
        return call

    # Each call lasts longer than the target, so every timing is a single call.
    contenders = {"a": contender("a", 0.002), "b": contender("b", 0.004),
                  "c": contender("c", 0.002)}
    result = _timing.time_interleaved(contenders, repeat=4, target=0.001)
    calibration, rounds = calls[:3], calls[3:]
    assert calibration == ["a", "b", "c"]
    assert rounds == list("abc" "bca" "cab" "abc")
    assert set(result) == {"a", "b", "c"}
    assert all(len(timing.samples) == 4 for timing in result.values())


def test_calibration_ignores_a_stall_in_a_short_timing():
    calls = []

    def call():
        if not calls:
            time.sleep(0.005)       # the first call stalls, as when the host takes the CPU
        calls.append(1)

    # The target is ten times the stall, so that a host slowing the sleep down
    # does not stretch the first timing past it (a timing that long is taken at
    # its word: a call that slow is timed once).
    _timing.time_interleaved({"a": call}, repeat=2, target=0.05)
    # calibrated on the fast calls (thousands per timing), not on the stalled one
    # (which would give 10 loops: about 20 calls in all)
    assert len(calls) > 1000


def test_calibration_recovers_from_stalls_in_every_short_timing():
    calls = []

    def call():
        if len(calls) < 3:
            time.sleep(0.005)       # the three single-call timings all stall
        calls.append(1)

    _timing.time_interleaved({"a": call}, repeat=2, target=0.05)
    assert len(calls) > 1000


def test_time_interleaved_pauses_before_each_timing_of_the_rounds(monkeypatch):
    events = []
    monkeypatch.setattr(_timing.time, "sleep", lambda seconds: events.append(seconds))
    _timing.time_interleaved({"a": lambda: events.append("a"), "b": lambda: events.append("b")},
                             repeat=2, loops=1, pause=0.25)
    assert events == [0.25, "a", 0.25, "b", 0.25, "b", 0.25, "a"]
    events.clear()
    _timing.time_interleaved({"a": lambda: events.append("a")}, repeat=2, loops=1)
    assert events == ["a", "a"]


def test_time_interleaved_with_fixed_loops_skips_the_calibration():
    calls = []
    result = _timing.time_interleaved({"a": lambda: calls.append("a"),
                                       "b": lambda: calls.append("b")}, repeat=3, loops=2)
    assert calls == list("aabb" "bbaa" "aabb")
    assert len(result["a"].samples) == 3
    with pytest.raises(ValueError, match="loops"):
        _timing.time_interleaved({"a": "pass"}, loops=0)


def test_timing_is_the_median_with_its_interquartile_range():
    timing = _timing.Timing([5.0, 1.0, 3.0, 2.0, 4.0])
    assert timing == 3.0 and isinstance(timing, float)
    assert timing.samples == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert timing.iqr == 2.0 and timing.relative_spread == pytest.approx(2 / 3)
    assert 2 * timing == 6.0 and type(2 * timing) is float
    assert _timing.Timing([7.0]).iqr == 0.0
    assert _timing.Timing([1.0, 3.0]).iqr == 1.0        # half the range
    assert timing.as_dict() == {"median": 3.0, "iqr": 2.0, "samples": [1, 2, 3, 4, 5]}
    with pytest.raises(ValueError):
        _timing.Timing([])


@pytest.mark.parametrize("value, text", [
    (0.0, "0"), (2.4e-7 * 1e6, "0.240"), (0.0523, "0.0523"), (4, "4.00"), (183.2, "183"),
    (1835.1, "1,835"), (105749.9, "105,750"), (-2.5, "-2.50")])
def test_format_significant_never_rounds_to_zero(value, text):
    assert _timing.format_significant(value) == text


def test_spread_warning_names_the_noisy_rows_only():
    quiet, noisy = _timing.Timing([1.0, 1.01, 1.02]), _timing.Timing([1.0, 2.0, 3.0])
    assert _timing.spread_warning({"a": quiet, "b": [quiet, quiet]}) is None
    warning = _timing.spread_warning({"a": quiet, "b": [quiet, noisy], "c": noisy})
    assert "2 row(s)" in warning and "b (±50%)" in warning and "c (±50%)" in warning
    assert "a (" not in warning


def test_machine_names_the_fastblas_it_timed():
    # a script run as a file may import an installed fastblas, not the tree beside it
    line = next(line for line in _timing.describe_machine() if "fastblas" in line)
    assert f"fastblas {fastblas.__version__} ({os.path.dirname(fastblas.__file__)})" in line


def test_machine_names_the_blas_environment_variables_set(monkeypatch):
    for name in _timing.BLAS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    assert not any(line.startswith("BLAS environment") for line in _timing.describe_machine())
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "4")
    info = _timing.machine_info()
    assert info["blas_environment"] == {"OPENBLAS_THREAD_TIMEOUT": "4"}
    assert "BLAS environment: OPENBLAS_THREAD_TIMEOUT=4" in _timing.describe_machine(info)
    del info["blas_environment"]        # a result file from before the key
    assert not any(line.startswith("BLAS environment") for line in _timing.describe_machine(info))


def test_load_warning_compares_the_load_with_the_usable_cores(monkeypatch):
    cores = _timing.usable_cores()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 0.5, 0.0, 0.0))
    assert f"more than the {cores} usable cores" in _timing.load_warning()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores - 0.5, 0.0, 0.0))
    assert _timing.load_warning() is None


def test_time_interleaved_statements_see_the_namespace_as_locals():
    import numpy as np
    y = np.zeros(3)
    result = _timing.time_interleaved({"iadd": "y += 1.0"}, {"y": y}, repeat=2, target=1e-4)
    assert y[0] >= 3 and np.all(y == y[0])  # calibration + 2 timings, in place
    assert len(result["iadd"].samples) == 2
    with pytest.raises(ValueError, match="repeat"):
        _timing.time_interleaved({"pass": "pass"}, repeat=0)


def test_format_table_aligns_columns():
    headers, rows = ["op", "n", "ratio"], [["dot", "8", "1.00x"], ["axpy", "1048576", "12.50x"]]
    lines = _timing.format_table(headers, rows).splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1
    assert lines[2].startswith("dot ") and lines[3].startswith("axpy ")
    assert lines[2].endswith(" 1.00x") and lines[3].endswith("12.50x")
    markdown = _timing.format_table(headers, rows, markdown=True).splitlines()
    assert markdown[1].replace(" ", "") == "|----|------:|-----:|"
    assert [cell.strip() for cell in markdown[3].split("|")] == [
        "", "axpy", "1048576", "12.50x", ""]


def test_settings_from_args_quick_defaults_and_overrides():
    parser = bench_level1.build_parser()
    settings = _timing.settings_from_args(parser, parser.parse_args([]),
                                          bench_level1.DEFAULTS, bench_level1.QUICK)
    assert settings == bench_level1.DEFAULTS
    settings = _timing.settings_from_args(parser, parser.parse_args(["--quick", "--repeat", "2"]),
                                          bench_level1.DEFAULTS, bench_level1.QUICK)
    assert settings == dict(bench_level1.QUICK, repeat=2)
    for bad in (["--dtypes", "float16"], ["--repeat", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            _timing.settings_from_args(parser, parser.parse_args(bad),
                                       bench_level1.DEFAULTS, bench_level1.QUICK)


def test_short_vectors_are_timed_at_the_first_thread_count_only():
    pytest.importorskip("threadpoolctl")
    long_n = bench_level1.MULTI_THREAD_MIN_N
    results = bench_level1.run([8, long_n], ["float32"], repeat=1, threads=[1, 2], target=1e-4)
    seen = {(r["op"], r["n"], r["threads"]) for r in results}
    expected = {(op, n, t) for op in bench_level1.OPERATIONS
                for n, t in [(8, "1"), (long_n, "1"), (long_n, "2")]}
    assert seen == expected
    assert all(set(r["seconds"]) == set(bench_level1.CONTENDERS) for r in results)


def _markdown_table(output):
    """The header and rows of the Markdown table in ``output``, as lists of cells."""
    lines = [line for line in output.splitlines() if line.startswith("| ")]
    header, rows = lines[0], lines[2:]
    return ([cell.strip() for cell in header.strip("|").split("|")],
            [[cell.strip() for cell in row.strip("|").split("|")] for row in rows])


def test_bench_level1_prints_one_row_per_op_dtype_and_size(capsys):
    assert bench_level1.main(TINY_LEVEL1 + ["--markdown"]) == 0
    out = capsys.readouterr().out
    assert "empty Python call f():" in out
    header, rows = _markdown_table(out)
    assert header == ["op", "dtype", "n", "threads", "fastblas ns", "numpy ns", "scipy ns",
                      "vs numpy", "vs scipy"]
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        (op, "float64", n) for op in bench_level1.OPERATIONS for n in ("8", "33"))
    assert all(len(row) == len(header) for row in rows)


def test_bench_gemm_prints_one_row_per_shape(capsys):
    assert bench_gemm.main(TINY_GEMM + ["--markdown"]) == 0
    header, rows = _markdown_table(capsys.readouterr().out)
    assert header == (["shape", "dtype", "threads"]
                      + [f"{c} us" for c in bench_gemm.CONTENDERS]
                      + ["fastblas GFLOP/s", "matmul GFLOP/s", "vs matmul", "vs matmul out=",
                         "gemm+matmul vs alone"])
    assert sorted(row[0] for row in rows) == ["(3x5)@(5x4)", "(8x8)@(8x8)"]
    assert all(len(row) == len(header) and row[1] == "float32" for row in rows)


def test_bench_gemm_pair_is_one_product_of_each_library_and_costs_its_excess():
    namespace = bench_gemm._namespace(np.dtype(np.float64), bench_gemm.Shape(3, 5, 4),
                                      np.random.default_rng(0))
    calls = []
    namespace.update(gemm=lambda *args: calls.append("fastblas"),
                     matmul=lambda *args: calls.append("numpy"))
    exec(bench_gemm.CONTENDERS["gemm+matmul"], namespace)
    assert calls == ["fastblas", "numpy"]
    seconds = {"fastblas": 1.0, "matmul": 3.0, "gemm+matmul": 10.0}
    assert bench_gemm._alternation_cost(seconds) == 2.5


def test_spin_pause_only_above_one_thread():
    assert _timing.spin_pause("1") == 0
    assert _timing.spin_pause("2") == _timing.spin_pause("default") == _timing.SPIN_PAUSE > 0.1


@pytest.mark.parametrize("script", [bench_level1, bench_gemm])
def test_timings_above_one_thread_follow_a_spin_pause(script, monkeypatch):
    pytest.importorskip("threadpoolctl")
    pauses = []

    def record(contenders, namespace, repeat, target, pause=0.0):
        pauses.append(pause)
        return {name: _timing.Timing([1e-3]) for name in contenders}

    monkeypatch.setattr(_timing, "time_interleaved", record)
    if script is bench_level1:
        script.run([2**20], ["float64"], repeat=1, threads=[1, 2], target=1e-3)
    else:
        script.run([bench_gemm.Shape(8, 8, 8)], ["float64"], repeat=1, threads=[1, 2],
                   target=1e-3)
    assert set(pauses) == {0.0, _timing.SPIN_PAUSE}
    assert pauses.index(_timing.SPIN_PAUSE) == len(pauses) // 2   # 1 thread first


def test_bench_gemm_shapes_ending_in_t_multiply_by_a_transposed_b(capsys):
    shapes = bench_gemm._parse_shapes("3x5x4t, 3x5x4")
    assert shapes == [bench_gemm.Shape(3, 5, 4, True), bench_gemm.Shape(3, 5, 4, False)]
    namespace = bench_gemm._namespace(np.dtype(np.float32), shapes[0],
                                      np.random.default_rng(0))
    assert namespace["B"].shape == (5, 4) and namespace["B"].T.flags.c_contiguous
    assert bench_gemm.main(["--quick", "--sizes", "8", "--shapes", "3x5x4t", "--repeat", "1",
                            "--markdown"]) == 0
    header, rows = _markdown_table(capsys.readouterr().out)
    assert sorted(row[0] for row in rows) == ["(3x5)@(4x5).T", "(8x8)@(8x8)"]


@pytest.mark.parametrize("script, name", [(bench_level1, "level1"), (bench_gemm, "gemm")])
def test_results_are_saved_as_json_and_markdown_with_the_machine(script, name, tmp_path,
                                                                 capsys):
    tiny = TINY_LEVEL1 if script is bench_level1 else TINY_GEMM
    assert script.main(tiny + ["--results", str(tmp_path / "out")]) == 0
    record = json.loads((tmp_path / "out" / f"{name}.json").read_text())
    assert record["benchmark"] == name and record["settings"]["repeat"] == 1
    assert record["machine"]["usable_cores"] >= 1 and "numpy" in record["machine"]
    first = record["results"][0]
    assert set(first["seconds"]["fastblas"]) == {"median", "iqr", "samples"}
    markdown = (tmp_path / "out" / f"{name}.md").read_text()
    assert markdown.startswith("# fastblas") and "- CPU:" in markdown
    assert "| " + ("op" if name == "level1" else "shape") in markdown


@pytest.mark.parametrize("script, prog", [(bench_level1, "fastblas bench level1"),
                                          (bench_gemm, "fastblas bench gemm")])
def test_help_is_plain_text_with_the_command_name(script, prog, capsys):
    with pytest.raises(SystemExit) as exc:
        script.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {prog} ")
    assert "``" not in text and ":func:" not in text and "benchmarks/" not in text
    with pytest.raises(SystemExit):
        script.main(["--help"], prog="other name")
    assert capsys.readouterr().out.startswith("usage: other name ")


@pytest.mark.parametrize("script", [bench_level1, bench_gemm])
def test_plot_writes_a_png(script, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread
    path = tmp_path / "speedup.png"
    tiny = TINY_LEVEL1 if script is bench_level1 else TINY_GEMM
    assert script.main(tiny + ["--plot", str(path)]) == 0
    assert imread(path).ndim == 3


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(SystemExit) as exc:
        bench_level1.main(TINY_LEVEL1 + ["--plot", "never-written.png"])
    assert exc.value.code == 2
    assert "pip install matplotlib" in capsys.readouterr().err
    assert not os.path.exists("never-written.png")


def test_plot_into_a_missing_directory_is_refused_before_timing(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    with pytest.raises(SystemExit) as exc:
        bench_gemm.main(TINY_GEMM + ["--plot", str(tmp_path / "missing" / "x.png")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "GFLOP" not in captured.out


@pytest.mark.parametrize("script", [bench_level1, bench_gemm])
def test_runs_as_a_file(script):
    # `python benchmarks/bench_x.py` imports its sibling _timing as a top-level module.
    env = dict(os.environ)
    package_parent = str(Path(fastblas.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    tiny = TINY_LEVEL1 if script is bench_level1 else TINY_GEMM
    proc = subprocess.run([sys.executable, script.__file__] + tiny, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "speed-up" in proc.stdout


# ---------------------------------------------------------------- bench_train

@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(3)
    X = rng.random((120, 784))
    y = np.arange(120) % 10
    return {dtype: (X.astype(dtype), y) for dtype in bench_train.DTYPES}


def _snapshot(runner):
    """A copy of the runner's first weights, or None for the gemm floors."""
    model = getattr(runner, "model", None)
    if model is None:
        return None
    if hasattr(model, "parameters"):                          # PyTorch
        return next(model.parameters()).detach().numpy().copy()
    weights = model.components_ if hasattr(model, "components_") else model.coefs_[0]
    return np.array(weights, copy=True)


@pytest.mark.parametrize("name", ["rbm", "mlp-adam"])
def test_every_available_contender_trains_a_warm_model_one_epoch(name, tiny_data):
    recipe = _recipes.RECIPES[name].with_hidden(8).with_params(batch_size=20)
    X, y = tiny_data["float32"]
    names = [c.name for c in bench_train.CONTENDERS if c.available(recipe)]
    assert "numpy reference" in names and "gemm floor" in names
    for contender in bench_train.CONTENDERS:
        if not contender.available(recipe) or contender.runner is bench_train.JaxEpoch:
            continue
        runner = contender.runner(recipe, X, y)
        before = _snapshot(runner)     # warm: after one untimed minibatch
        runner()
        runner()
        if before is not None:
            assert not np.array_equal(before, _snapshot(runner)), contender.name


def test_jax_trains_scikit_learns_default_mlp_shuffled_each_epoch(tiny_data):
    pytest.importorskip("jax")
    recipe = _recipes.RECIPES["mlp-sklearn"].with_hidden(8).with_params(batch_size=20)
    assert recipe.params["shuffle"] and bench_train.JaxEpoch.supports(recipe)
    assert not bench_train.JaxEpoch.supports(recipe.with_params(solver="sgd", momentum=0.9))
    X, y = tiny_data["float32"]
    runner = bench_train.JaxEpoch(recipe, X, y)
    epoch, orders = runner.epoch, []

    def recorded_epoch(X, y, order):
        orders.append(order)
        epoch(X, y, order)

    runner.epoch = recorded_epoch
    before = epoch.parameters()[0]
    runner()
    runner()
    assert not np.array_equal(before, epoch.parameters()[0])
    assert all(np.array_equal(np.sort(o), np.arange(len(X))) for o in orders)
    assert not np.array_equal(orders[0], orders[1])


def test_gemm_floor_makes_the_products_of_any_layer_sizes(tiny_data):
    X, y = tiny_data["float64"]
    recipe = _recipes.RECIPES["mlp"].with_hidden([16, 8]).with_params(batch_size=50)
    floor = bench_train.GemmFloor(recipe, X, y)
    floor()      # 120 rows: two full minibatches and a short one
    assert [w.shape for w in floor.weights] == [(784, 16), (16, 8), (8, 10)]
    rbm = bench_train.NumpyGemmFloor(_recipes.RECIPES["rbm"].with_hidden(8), X, y)
    rbm()
    assert rbm.grads[0].shape == (784, 8)


def test_thread_rows_compare_thread_counts_and_two_models_at_once():
    recipe = _recipes.RECIPES["mlp"]
    labels = list(bench_train.thread_rows(recipe, cores=2))
    assert labels[:2] == ["fastblas, 1 BLAS thread", "fastblas, 2 BLAS threads"]
    assert labels[-4:] == [bench_train.SEQUENTIAL, bench_train.PARALLEL,
                           bench_train.FLOORS_SEQUENTIAL, bench_train.FLOORS_PARALLEL]
    assert (bench_train.AUTOMATIC in labels) == bench_train._fastblas_has_n_threads("mlp")
    assert list(bench_train.thread_rows(recipe, cores=1)) == ["fastblas, 1 BLAS thread"] + (
        [bench_train.AUTOMATIC] if bench_train._fastblas_has_n_threads("mlp") else [])


def test_thread_table_counts_both_epochs_of_a_pair_and_gives_both_speedups():
    def row(seconds):
        return _timing.Timing([seconds] * 3), 0.1
    timed = {"fastblas, 1 BLAS thread": row(1.0),
             bench_train.SEQUENTIAL: row(2.0), bench_train.PARALLEL: row(1.25),
             bench_train.FLOORS_SEQUENTIAL: row(1.0), bench_train.FLOORS_PARALLEL: row(0.4)}
    table = bench_train.thread_table(timed, chosen=None, n_samples=1000)
    assert "2 models on 2 Python threads: 1.60x the speed" in table
    assert "their products from Python loops (2 gemm floors): 2.50x" in table
    lines = table.splitlines()
    floors = next(line for line in lines if line.startswith(bench_train.FLOORS_PARALLEL))
    assert "5,000" in floors            # 2 x 1000 samples in 0.4 s
    one = next(line for line in lines if line.startswith("fastblas, 1 BLAS thread"))
    assert "1,000" in one and "1.00x" in one


def test_rows_warm_up_then_take_turns_each_epoch_after_a_pause(monkeypatch, tiny_data):
    events = []
    monkeypatch.setattr(bench_train.time, "sleep", lambda seconds: events.append(seconds))

    def build(name):
        return "float32", lambda X, y: lambda: events.append(name)

    timed, runners = bench_train.time_rows({"a": build("a"), "b": build("b")}, tiny_data,
                                           repeat=2, warmup_samples=10)
    pause = bench_train.PAUSE
    assert pause > 0
    assert events == ["a", "b", pause, "a", pause, "b", pause, "b", pause, "a"]
    assert [len(timing.samples) for timing, _ in timed.values()] == [2, 2]
    assert list(runners) == ["a", "b"]


def test_the_automatic_row_names_the_thread_count_its_model_chose(tiny_data):
    pytest.importorskip("sklearn")
    recipe = _recipes.RECIPES["mlp-adam"]
    if not bench_train._fastblas_has_n_threads(recipe.model):
        pytest.skip("fastblas's MLP has no n_threads")
    X, y = tiny_data["float32"]
    runners = {bench_train.AUTOMATIC: bench_train.FastblasEpoch(recipe, X, y, n_threads=None),
               "fastblas, 1 BLAS thread": bench_train.FastblasEpoch(recipe, X, y, n_threads=1)}
    chosen = bench_train.chosen_threads(runners)
    assert chosen in range(1, _timing.usable_cores() + 1)
    timed = {label: (_timing.Timing([1.0]), 0.1) for label in runners}
    automatic = next(line for line in bench_train.thread_table(timed, chosen, 100).splitlines()
                     if line.startswith(bench_train.AUTOMATIC))
    assert automatic.startswith(f"{bench_train.AUTOMATIC}: {chosen} thread")
    assert bench_train.chosen_threads({"fastblas, 1 BLAS thread": None}) is None


def test_two_models_run_each_once_in_turn_or_at_once():
    calls = []
    bench_train.TwoModels(lambda: calls.append("a"), lambda: calls.append("b"), False)()
    assert calls == ["a", "b"]
    # at once: each waits for the other to start, which in turn would never happen
    both_started = threading.Barrier(2, timeout=10)
    at_once = bench_train.TwoModels(both_started.wait, both_started.wait, True)
    for _ in range(2):                  # the same two threads, call after call
        at_once()
    assert not both_started.broken


def test_cpu_hog_runs_for_the_block_only(capsys):
    with bench_train.cpu_hog(True) as hog:
        assert hog.poll() is None          # running
    assert hog.poll() is not None          # stopped and reaped
    assert f"process {hog.pid}" in capsys.readouterr().out
    with bench_train.cpu_hog(False) as nothing:
        assert nothing is None


def test_bench_train_tables_rows_and_results(tmp_path, capsys):
    out_dir = tmp_path / "results"
    assert bench_train.main(["mlp", "--quick", "--n-samples", "200", "--markdown",
                             "--results", str(out_dir)]) == 0
    out = capsys.readouterr().out
    header, rows = _markdown_table(out)
    assert header == bench_train.COMPARISON_HEADERS
    assert [(r[0], r[1]) for r in rows][:2] == [("numpy reference", "float32"),
                                               ("numpy reference", "float64")]
    assert all(len(r) == len(header) for r in rows)
    record = json.loads((out_dir / "train-mlp.json").read_text())
    assert record["settings"]["n_samples"] == 200
    (table,) = record["results"]
    assert table["config"] == "mlp" and table["threads"] == 1
    assert {"median", "iqr", "samples"} <= set(table["rows"][0]["seconds"])


def test_results_of_some_configurations_are_named_after_them():
    assert bench_train.results_name([]) == "train"
    assert bench_train.results_name(list(bench_train.CONFIGURATIONS)) == "train"
    assert bench_train.results_name(["mlp-adam", "rbm"]) == "train-rbm+mlp-adam"


def test_bench_train_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        bench_train.main(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: fastblas bench train ")
    assert "``" not in text and "benchmarks/" not in text and "--busy" in text


# ---------------------------------------------------------------- bench_search

def test_bench_search_times_every_search_and_saves_the_table(tmp_path, capsys):
    pytest.importorskip("sklearn")
    try:
        from fastblas.benchmarks import bench_search
    except ImportError:
        from benchmarks import bench_search
    # 120 images: every fit's products are small enough for one BLAS thread, so
    # the searches of one library fit the same models whatever their jobs
    assert bench_search.main(["--quick", "--n-samples", "120", "--results",
                              str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "search.json").read_text())
    results = saved["results"]
    assert list(results) == list(bench_search.SEARCHES)
    for library in ("scikit-learn", "fastblas"):
        bests = {(r["best_alpha"], r["best_score"]) for label, r in results.items()
                 if label.startswith(library + ",")}
        assert len(bests) == 1, (library, bests)
        assert next(iter(bests))[0] in bench_search.ALPHAS
    assert all(len(r["seconds"]["samples"]) == 1 and r["warm_up_seconds"] > 0
               for r in results.values())
    markdown = (tmp_path / "search.md").read_text()
    assert all(f"| {label} " in markdown for label in bench_search.SEARCHES)
    assert "scikit-learn, 1 job" in capsys.readouterr().out


def test_bench_search_speedups_are_against_the_sequential_scikit_learn_search():
    pytest.importorskip("sklearn")
    try:
        from fastblas.benchmarks import bench_search
    except ImportError:
        from benchmarks import bench_search
    results = {label: (_timing.Timing([seconds]), 0.01, 0.5, 0.1)
               for label, seconds in zip(bench_search.SEARCHES, (3.0, 2.0, 1.5, 1.0, 1.2, 0.6))}
    rows = bench_search.format_results(results).splitlines()[2:]
    assert [row.split()[-4] for row in rows] == ["1.00x", "1.50x", "2.00x", "3.00x",
                                                  "2.50x", "5.00x"]
