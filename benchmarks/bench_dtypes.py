"""Every dtype NumPy users multiply: fastblas.dot and fastblas.matmul against NumPy.

For each dtype and size, the time per call of

    numpy     np.dot(a, b)
    fastblas  fb.dot(a, b)
    recipe    (a.astype(W) @ b.astype(W)).astype(a.dtype)   W = float64 (float32
              for float16): what a savvy user writes by hand, exact for integers
              only while max|a| * max|b| * k < 2**53 (complex: no recipe)

on vectors (n = 32 and 100000) and square matrices (64, 256, 1024), and of
np.matmul against fastblas.matmul (and the recipe for int32) on float32, float64
and int32 stacks of small matrices,
the contenders timed interleaved in one process (see ``_timing``), with the
BLAS capped at each thread count asked for (threadpoolctl); above one thread,
each timing follows a pause (``_timing.spin_pause``). Also measured: the
peak memory (tracemalloc) of one int64 (n x n) @ (n x n) product.

Run as ``fastblas bench dtypes`` or ``python -m fastblas.benchmarks.bench_dtypes``.
"""
import argparse
import itertools
import tracemalloc

import numpy as np

import fastblas as fb

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing

# name -> (dtype, value spread): int8, uint8, int16 and bool span their whole
# range (bool: half true); "bool sparse" is 1% true, where NumPy's bool loop, which
# stops at the first true term, runs long; int32 and int64 hold |x| <= 1000;
# "int64 full" spans the whole int64 range, which makes fastblas split the
# operands into slices (and the recipe wrong).
DTYPES = {
    "int8": (np.int8, "full"), "uint8": (np.uint8, "full"), "int16": (np.int16, "full"),
    "int32": (np.int32, "small"), "int64": (np.int64, "small"),
    "int64 full": (np.int64, "full"), "bool": (np.bool_, "full"),
    "bool sparse": (np.bool_, "sparse"),
    "float16": (np.float16, None), "complex64": (np.complex64, None),
    "complex128": (np.complex128, None),
}
STACKS = [(10000, 4), (10000, 8), (1000, 16), (100, 64), (10, 256)]

DEFAULTS = dict(dtypes=list(DTYPES), vectors=[32, 100000], sizes=[64, 256, 1024],
                stacks=STACKS, memory=4096, repeat=5, threads=[1], target=0.01)
QUICK = dict(dtypes=["int8", "int64 full", "float16"], vectors=[32], sizes=[16],
             stacks=[(100, 4)], memory=64, repeat=3, threads=[1], target=0.001)

# The three tables: the case of their rows, heading, time unit and its scale, and
# the header of the size column.
TABLES = [
    ("dot vec", "fastblas.dot on vectors of length n: us per call", "us", 1e6, "n"),
    ("dot mat", "fastblas.dot on (n x n) @ (n x n): ms per call", "ms", 1e3, "n"),
    ("matmul", "fastblas.matmul on stacks (count x n x n) @ (count x n x n): us per call",
     "us", 1e6, "stack"),
]
CONTENDERS = ["fastblas", "numpy", "recipe"]
RECIPE = "(a.astype(W) @ b.astype(W)).astype(T)"
LEGEND = [
    "numpy = np.dot(a, b) (np.matmul(a, b) for stacks), fastblas = fastblas.dot(a, b) "
    "(fastblas.matmul(a, b))",
    "recipe = (a.astype(W) @ b.astype(W)).astype(a.dtype), W = float64 (float32 for "
    "float16); none for complex; wrong on int64 full",
]


def values(rng, shape, dtype, spread):
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < (0.01 if spread == "sparse" else 0.5)
    if spread == "small":
        return rng.integers(-1000, 1000, size=shape, endpoint=True).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def dot_contenders(dtype):
    contenders = {"numpy": "np_dot(a, b)", "fastblas": "fb_dot(a, b)"}
    if np.dtype(dtype).kind != "c":
        contenders["recipe"] = RECIPE
    return contenders


def _dot_cases(settings, rng):
    """(case, dtype name, size, contenders, namespace) of every fb.dot row."""
    for name in settings["dtypes"]:
        dtype, spread = DTYPES[name]
        wide = np.float32 if dtype == np.float16 else np.float64
        shapes = ([("dot vec", (n,)) for n in settings["vectors"]]
                  + [("dot mat", (n, n)) for n in settings["sizes"]])
        for case, shape in shapes:
            namespace = dict(np_dot=np.dot, fb_dot=fb.dot, W=wide, T=dtype,
                             a=values(rng, shape, dtype, spread),
                             b=values(rng, shape, dtype, spread))
            yield case, name, str(shape[0]), dot_contenders(dtype), namespace


def _matmul_cases(settings, rng):
    """The same for every fb.matmul row (float32, float64 and int32 stacks)."""
    for name in ("float32", "float64", "int32"):
        dtype, spread = DTYPES.get(name, (np.dtype(name).type, None))
        contenders = {"numpy": "np_matmul(a, b)", "fastblas": "fb_matmul(a, b)"}
        if np.dtype(dtype).kind == "i":
            contenders["recipe"] = RECIPE
        for count, n in settings["stacks"]:
            namespace = dict(np_matmul=np.matmul, fb_matmul=fb.matmul, W=np.float64,
                             T=dtype, a=values(rng, (count, n, n), dtype, spread),
                             b=values(rng, (count, n, n), dtype, spread))
            yield "matmul", name, f"{count}x{n}x{n}", contenders, namespace


def run(settings, seed=0):
    """Time every case; returns one dict per (case, dtype, size, threads) whose
    ``seconds`` maps each contender to its ``_timing.Timing`` per call."""
    rng = np.random.default_rng(seed)
    results = []
    for label, limit in _timing.blas_thread_limits(settings["threads"]):
        with limit(), np.errstate(invalid="ignore", over="ignore"):  # the recipe, int64 full
            cases = itertools.chain(_dot_cases(settings, rng), _matmul_cases(settings, rng))
            pause = _timing.spin_pause(label)
            for case, dtype, size, contenders, namespace in cases:
                seconds = _timing.time_interleaved(contenders, namespace, settings["repeat"],
                                                   settings["target"], pause=pause)
                results.append(dict(case=case, dtype=dtype, size=size, threads=label,
                                    seconds=seconds))
    return results


def peak_memory(n, seed=0):
    """Peak bytes allocated by fastblas.dot and by the recipe for an int64 (n x n)
    product (small values, so that the recipe is exact), and the output's size."""
    rng = np.random.default_rng(seed)
    a = values(rng, (n, n), np.int64, "small")
    b = values(rng, (n, n), np.int64, "small")
    products = {"fastblas": lambda: fb.dot(a, b),
                "recipe": lambda: (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)}
    peaks = {}
    for name, product in products.items():
        tracemalloc.start()
        result = product()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result
    return dict(n=n, output=n * n * 8, **peaks)


def memory_line(memory):
    n, mib = memory["n"], 2**20
    return (f"peak memory of an int64 ({n}x{n}) @ ({n}x{n}) product (tracemalloc): "
            f"output {memory['output'] / mib:,.1f} MiB; fastblas.dot "
            f"{memory['fastblas'] / mib:,.1f} MiB (output + "
            f"{(memory['fastblas'] - memory['output']) / mib:,.1f} MiB); recipe "
            f"{memory['recipe'] / mib:,.1f} MiB")


def format_table(results, unit, scale, size_header, markdown=False):
    """One table: a row per result, times in ``unit`` (seconds times ``scale``); a
    contender that no row has gets no column."""
    contenders = [c for c in CONTENDERS if any(c in r["seconds"] for r in results)]
    others = contenders[1:]
    headers = (["dtype", size_header, "threads"] + [f"{c} {unit}" for c in contenders]
               + [f"vs {c}" for c in others])
    rows = [[r["dtype"], r["size"], r["threads"]]
            + [_timing.format_timing(s[c], scale) if c in s else "-" for c in contenders]
            + [f"{s[c] / s['fastblas']:.2f}x" if c in s else "-" for c in others]
            for r in results for s in [r["seconds"]]]
    return _timing.format_table(headers, rows, markdown, left=2)


def format_tables(results, markdown=False):
    """``[(heading, table), ...]``, one per case that has results."""
    tables = []
    for case, heading, unit, scale, size_header in TABLES:
        rows = [r for r in results if r["case"] == case]
        if rows:
            tables.append((heading, format_table(rows, unit, scale, size_header, markdown)))
    return tables


def spread_warning(results):
    return _timing.spread_warning(
        {f"{r['case']} {r['dtype']} {r['size']} {r['threads']} thr": r["seconds"].values()
         for r in results})


DESCRIPTION = f"""\
Every dtype NumPy users multiply: fastblas.dot and fastblas.matmul against NumPy.

For each dtype and size, the time per call of
  numpy     np.dot(a, b)
  fastblas  fastblas.dot(a, b)
  recipe    (a.astype(W) @ b.astype(W)).astype(a.dtype), W = float64 (float32
            for float16): exact for integers only while max|a| max|b| k < 2**53;
            none for complex
on vectors and square matrices, and of np.matmul against fastblas.matmul on
float32, float64 and int32 stacks of small matrices (with the recipe for
int32), timed interleaved in one process (above one BLAS thread, each timing
after a {_timing.SPIN_PAUSE} s pause, so that none pays for the threads of the
other's OpenBLAS still spinning), with fastblas's speed-up (other's time /
fastblas's time). Also measured: the peak memory (tracemalloc) of one int64
(n x n) @ (n x n) product.

Values: int8, uint8, int16 and bool span their whole range (bool: half true;
"bool sparse": 1% true); int32 and int64 hold |x| <= 1000; "int64 full" spans the
whole int64 range (fastblas splits the operands into slices; the recipe's
result is wrong)."""

EPILOG = """\
Each time is the median of the rounds, with the interquartile range as a % of
it; a warning names the rows whose spread exceeds 20% and says when the
machine is busier than its cores."""


def build_parser(prog="fastblas bench dtypes"):
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtypes", type=lambda s: [x.strip() for x in s.split(",")],
                        help=f"among {', '.join(DTYPES)} (default: all)")
    parser.add_argument("--vectors", type=_timing.parse_int_list,
                        help="vector lengths (default: 32,100000)")
    parser.add_argument("--sizes", type=_timing.parse_int_list,
                        help="square matrix sizes (default: 64,256,1024)")
    parser.add_argument("--memory", type=int,
                        help="n of the int64 (n x n) product whose peak memory is "
                             "measured, 0 for none (default: 4096)")
    parser.add_argument("--repeat", type=int,
                        help="interleaved rounds; the median is kept (default: 5)")
    parser.add_argument("--threads", type=_timing.parse_int_list,
                        help="BLAS thread caps (threadpoolctl), default 1")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (int8, int64 full, float16; n = 32 and 16; one "
                             "small stack; 3 rounds of ~1 ms); explicit options still win")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    _timing.add_results_option(parser, "dtypes.json and dtypes.md")
    return parser


def main(argv=None, prog="fastblas bench dtypes"):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    settings = _timing.settings_from_args(parser, args, DEFAULTS, QUICK, dtypes=list(DTYPES))

    title = "fastblas dtypes comparison: time per call"
    _timing.print_header(title, settings, "speed-up = other's time / fastblas's time")
    for line in LEGEND:
        print("  " + line)
    results = run(settings, seed=args.seed)
    memory = peak_memory(settings["memory"], seed=args.seed) if settings["memory"] else None
    text = "".join(f"\n{heading}\n{table}\n" for heading, table in
                   format_tables(results, args.markdown))
    notes = [spread_warning(results), _timing.load_warning()]
    _timing.print_results(text + (f"\n{memory_line(memory)}" if memory else ""), results,
                          None, None, notes)
    if args.results:
        markdown = format_tables(results, True)
        if memory:
            markdown.append(("Peak memory", memory_line(memory)))
        paths = _timing.save_results(args.results, "dtypes", title, settings, markdown,
                                     dict(timings=results, memory=memory), notes)
        print("results written to " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
