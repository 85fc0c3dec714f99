"""benchmarks/bench_dtypes.py runs on tiny settings and prints and saves its tables.

Structure only: no time, and nothing of how a time prints, is asserted."""
import json

import pytest

from fastblas.__main__ import main as fastblas_main

try:
    from fastblas.benchmarks import bench_dtypes
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks import bench_dtypes

TINY = ["--quick", "--vectors", "5", "--sizes", "3", "--memory", "8", "--repeat", "1"]


def _markdown_tables(output):
    """{heading: (header cells, rows of cells)} of the Markdown tables, each printed
    under its heading line."""
    lines = output.splitlines()
    tables = {}
    for i, line in enumerate(lines):
        if line.startswith("| ") and not lines[i - 1].startswith("|"):
            block = []
            for row in lines[i:]:
                if not row.startswith("|"):
                    break
                block.append([cell.strip() for cell in row.strip("|").split("|")])
            tables[lines[i - 1]] = (block[0], block[2:])
    return tables


def test_quick_run_prints_one_table_per_case(capsys):
    assert bench_dtypes.main(TINY + ["--markdown"]) == 0
    out = capsys.readouterr().out
    tables = _markdown_tables(out)
    assert list(tables) == [heading for _, heading, *_ in bench_dtypes.TABLES]
    (vec_header, vec), (mat_header, mat), (stack_header, stacks) = tables.values()
    assert vec_header == ["dtype", "n", "threads", "fastblas us", "numpy us", "recipe us",
                          "vs numpy", "vs recipe"]
    assert mat_header == [h.replace("us", "ms") for h in vec_header]
    assert stack_header == ["dtype", "stack", *vec_header[2:]]
    assert [(r[0], r[1]) for r in vec] == [(d, "5") for d in bench_dtypes.QUICK["dtypes"]]
    assert [(r[0], r[1]) for r in mat] == [(d, "3") for d in bench_dtypes.QUICK["dtypes"]]
    assert [(r[0], r[1]) for r in stacks] == [("float32", "100x4x4"), ("float64", "100x4x4"),
                                              ("int32", "100x4x4")]
    assert all(len(row) == len(vec_header) for row in vec + mat + stacks)
    assert [r[5] for r in stacks][:2] == ["-", "-"] and stacks[2][5] != "-"  # recipe: int32
    assert "peak memory of an int64 (8x8) @ (8x8) product" in out


def test_complex_has_no_recipe(capsys):
    assert bench_dtypes.main(TINY + ["--dtypes", "complex64", "--markdown"]) == 0
    header, rows = list(_markdown_tables(capsys.readouterr().out).values())[0]
    assert header == ["dtype", "n", "threads", "fastblas us", "numpy us", "vs numpy"]
    assert rows[0][0] == "complex64"


def test_results_are_saved_as_json_and_markdown_with_the_machine(tmp_path, capsys):
    assert bench_dtypes.main(TINY + ["--results", str(tmp_path / "out")]) == 0
    record = json.loads((tmp_path / "out" / "dtypes.json").read_text())
    assert record["benchmark"] == "dtypes" and record["settings"]["repeat"] == 1
    assert record["machine"]["usable_cores"] >= 1
    timings = record["results"]["timings"]
    assert len(timings) == 2 * len(bench_dtypes.QUICK["dtypes"]) + 3
    assert set(timings[0]["seconds"]["fastblas"]) == {"median", "iqr", "samples"}
    assert record["results"]["memory"]["n"] == 8
    markdown = (tmp_path / "out" / "dtypes.md").read_text()
    assert markdown.startswith("# fastblas dtypes") and "- CPU:" in markdown
    assert "| dtype" in markdown and "peak memory of an int64" in markdown


def test_help_is_plain_text_with_the_command_name(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_dtypes.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: fastblas bench dtypes ") and "--results DIR" in text
    assert "``" not in text and "benchmarks/" not in text


def test_fastblas_bench_dtypes_runs_the_script(capsys):
    assert fastblas_main(["bench", "dtypes", *TINY, "--dtypes", "int8"]) == 0
    assert "fastblas.dot on vectors of length n" in capsys.readouterr().out


def test_bad_options_stop_with_a_message(capsys):
    for bad in (["--dtypes", "int7"], ["--repeat", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit):
            bench_dtypes.main(["--quick"] + bad)
    assert "int7" in capsys.readouterr().err
