"""benchmarks/bench_dtypes.py runs on tiny settings and prints its table.

Structure only: no timing is asserted."""
import pytest

try:
    from fastblas.benchmarks import bench_dtypes
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks import bench_dtypes

TINY = ["--quick", "--vectors", "5", "--sizes", "3", "--memory", "8"]


def _rows(output, first_words):
    return [line.split() for line in output.splitlines()
            if line.split() and line.split()[0] in first_words]


def test_quick_run_prints_every_case(capsys):
    assert bench_dtypes.main(TINY) == 0
    out = capsys.readouterr().out
    rows = _rows(out, {"dot", "matmul"})
    dot_rows = [r for r in rows if r[0] == "dot"]
    names = {name.split()[0] for name in bench_dtypes.QUICK["dtypes"]}
    assert {r[1] for r in dot_rows} == {"vec", "mat"}                 # dot vec/mat DTYPE ...
    assert len(dot_rows) == 2 * len(bench_dtypes.QUICK["dtypes"])
    assert {r[2] for r in dot_rows} == names
    matmul_rows = [r for r in rows if r[0] == "matmul"]
    assert {r[1] for r in matmul_rows} == {"float32", "float64"}
    for row in rows:
        ratios = [cell for cell in row if cell.endswith("x") and cell[:-1].replace(".", "").isdigit()]
        assert ratios and all(float(cell[:-1]) > 0 for cell in ratios)
    assert "peak memory of an int64 (8x8) @ (8x8) product" in out


def test_complex_has_no_recipe_and_markdown_works(capsys):
    assert bench_dtypes.main(TINY + ["--dtypes", "complex64", "--markdown"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("| dot")]
    assert len(rows) == 2
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert all(c[6] == "-" and c[8] == "-" for c in cells)


def test_bad_options_stop_with_a_message(capsys):
    for bad in (["--dtypes", "int7"], ["--repeat", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            bench_dtypes.main(["--quick"] + bad)
    assert "int7" in capsys.readouterr().err
