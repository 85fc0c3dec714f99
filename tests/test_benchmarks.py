"""The comparison scripts run, on tiny settings, and their timing helper does what it says.

No speed is asserted here (speed lives in benchmarks/); these tests check the
interleaving, the option handling, the table and that each script runs end to end
as a module and as a file.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastblas

try:
    from fastblas.benchmarks import _timing, bench_gemm, bench_level1
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks import _timing, bench_gemm, bench_level1

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
    assert result["a"] >= 0.002 and result["b"] >= 0.004 and result["c"] >= 0.002


def test_time_interleaved_statements_see_the_namespace_as_locals():
    import numpy as np
    y = np.zeros(3)
    result = _timing.time_interleaved({"iadd": "y += 1.0"}, {"y": y}, repeat=2, target=1e-4)
    assert y[0] >= 3 and np.all(y == y[0])  # calibration + 2 timings, in place
    assert result["iadd"] > 0
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
    assert [cell.strip() for cell in markdown[3].split("|")] == ["", "axpy", "1048576", "12.50x", ""]


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
    assert all(ns > 0 for r in results for ns in r["ns"].values())


def _table_rows(output, first_words):
    return [line.split() for line in output.splitlines()
            if line.split() and line.split()[0] in first_words]


def test_bench_level1_prints_one_row_per_op_dtype_and_size(capsys):
    assert bench_level1.main(TINY_LEVEL1) == 0
    out = capsys.readouterr().out
    assert "empty Python call f():" in out
    rows = _table_rows(out, set(bench_level1.OPERATIONS))
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
        (op, "float64", n) for op in bench_level1.OPERATIONS for n in ("8", "33"))
    for row in rows:  # ... 3 times in ns, then 2 speed-ups
        assert all(float(cell.replace(",", "")) > 0 for cell in row[4:7])
        assert all(cell.endswith("x") and float(cell[:-1]) > 0 for cell in row[7:9])


def test_bench_gemm_prints_gflops_and_speedups(capsys):
    assert bench_gemm.main(TINY_GEMM) == 0
    rows = _table_rows(capsys.readouterr().out, {"(8x8)@(8x8)", "(3x5)@(5x4)"})
    assert len(rows) == 2
    for row in rows:  # shape dtype threads, 4 times in us, 2 GFLOP/s, 2 speed-ups
        assert row[1] == "float32" and len(row) == 11
        assert all(float(cell.replace(",", "")) > 0 for cell in row[3:9])
        assert all(cell.endswith("x") for cell in row[9:])


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
