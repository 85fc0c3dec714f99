"""Every dtype NumPy users multiply: fastblas.dot and fastblas.matmul against NumPy.

For each dtype and size, the time per call of

    numpy     np.dot(a, b)
    fastblas  fb.dot(a, b)
    recipe    (a.astype(W) @ b.astype(W)).astype(a.dtype)   W = float64 (float32
              for float16): what a savvy user writes by hand, exact for integers
              only while max|a| * max|b| * k < 2**53 (complex: no recipe)

on vectors (n = 32 and 100000) and square matrices (64, 256, 1024), and of
np.matmul against fastblas.matmul on float32/float64 stacks of small matrices.
The contenders are timed interleaved in one process (see ``_timing``): each of
``repeat`` rounds takes the median of a few interleaved timings, and the table
shows the median over the rounds with its spread (lowest-highest round), and the
ratios of times taken in the same round. The BLAS is capped at each thread count
asked for (threadpoolctl).

Values: int8, uint8, int16 and bool span their whole range; int32 and int64 hold
|x| <= 1000; "int64 full" spans the whole int64 range, which forces fastblas to
split the operands into slices (and makes the recipe's result wrong).

Also measured: the peak memory (tracemalloc, which sees NumPy's arrays and
fastblas's workspace) of one int64 (n x n) @ (n x n) product.

Run:  python -m fastblas.benchmarks.bench_dtypes [--quick] [--threads 1,2]
      (from a source checkout with an in-place build: python -m benchmarks.bench_dtypes)
"""
import argparse
import statistics

import numpy as np

import fastblas as fb

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing

# name -> (dtype, value spread); see the module docstring.
DTYPES = {
    "int8": (np.int8, "full"), "uint8": (np.uint8, "full"), "int16": (np.int16, "full"),
    "int32": (np.int32, "small"), "int64": (np.int64, "small"),
    "int64 full": (np.int64, "full"), "bool": (np.bool_, "full"),
    "float16": (np.float16, None), "complex64": (np.complex64, None),
    "complex128": (np.complex128, None),
}
STACKS = [(10000, 4), (10000, 8), (1000, 16), (100, 64), (10, 256)]

DEFAULTS = dict(dtypes=list(DTYPES), vectors=[32, 100000], sizes=[64, 256, 1024],
                stacks=STACKS, memory=4096, repeat=3, threads=[1], target=0.01)
QUICK = dict(dtypes=["int8", "int64 full", "float16"], vectors=[32], sizes=[16],
             stacks=[(100, 4)], memory=64, repeat=1, threads=[1], target=0.001)


def values(rng, shape, dtype, spread):
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    info = np.iinfo(dtype)
    if spread == "small":
        return rng.integers(-1000, 1000, size=shape, endpoint=True).astype(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def dot_contenders(dtype):
    contenders = {"numpy": "np_dot(a, b)", "fastblas": "fb_dot(a, b)"}
    if np.dtype(dtype).kind != "c":
        contenders["recipe"] = "(a.astype(W) @ b.astype(W)).astype(T)"
    return contenders


def time_rounds(contenders, namespace, repeat, target):
    """Per contender: the median over `repeat` rounds and its lowest and highest
    round; per contender pair: the same for the ratio of times in one round."""
    rounds = [_timing.time_interleaved(contenders, namespace, repeat=3, target=target)
              for _ in range(repeat)]
    seconds = {name: [r[name] for r in rounds] for name in contenders}
    return {name: (statistics.median(s), min(s), max(s)) for name, s in seconds.items()}, rounds


def ratio(rounds, slow, fast):
    """Median over rounds of time(slow) / time(fast), with the lowest and highest."""
    values = [r[slow] / r[fast] for r in rounds]
    return statistics.median(values), min(values), max(values)


def run(settings, seed=0):
    rng = np.random.default_rng(seed)
    results = []
    for label, limit in _timing.blas_thread_limits(settings["threads"]):
        with limit():
            for name in settings["dtypes"]:
                dtype, spread = DTYPES[name]
                wide = np.float32 if dtype == np.float16 else np.float64
                shapes = ([("vec", (n,), (n,)) for n in settings["vectors"]]
                          + [("mat", (n, n), (n, n)) for n in settings["sizes"]])
                for kind, shape_a, shape_b in shapes:
                    namespace = dict(np_dot=np.dot, fb_dot=fb.dot, W=wide, T=dtype,
                                     a=values(rng, shape_a, dtype, spread),
                                     b=values(rng, shape_b, dtype, spread))
                    times, rounds = time_rounds(dot_contenders(dtype), namespace,
                                                settings["repeat"], settings["target"])
                    results.append(dict(case=f"dot {kind}", dtype=name, size=shape_a[0],
                                        threads=label, times=times, rounds=rounds))
            for dtype in (np.float32, np.float64):
                for count, n in settings["stacks"]:
                    namespace = dict(np_matmul=np.matmul, fb_matmul=fb.matmul,
                                     a=values(rng, (count, n, n), dtype, None),
                                     b=values(rng, (count, n, n), dtype, None))
                    contenders = {"numpy": "np_matmul(a, b)", "fastblas": "fb_matmul(a, b)"}
                    times, rounds = time_rounds(contenders, namespace, settings["repeat"],
                                                settings["target"])
                    results.append(dict(case="matmul", dtype=np.dtype(dtype).name,
                                        size=f"{count}x{n}x{n}", threads=label,
                                        times=times, rounds=rounds))
    return results


def peak_memory(n, seed=0):
    """Peak bytes allocated by fastblas.dot and by the recipe for an int64 (n x n)
    product (small values, so that the recipe is exact), and the output's size."""
    import tracemalloc
    rng = np.random.default_rng(seed)
    a = values(rng, (n, n), np.int64, "small")
    b = values(rng, (n, n), np.int64, "small")
    peaks = {}
    for name, product in [("fastblas", lambda: fb.dot(a, b)),
                          ("recipe", lambda: (a.astype(np.float64) @ b.astype(np.float64))
                           .astype(np.int64))]:
        tracemalloc.start()
        result = product()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result
    return peaks, n * n * 8


def _ms(seconds):
    return f"{1e3 * seconds:,.3f}"


def _span(stat, digits=2):
    median, low, high = stat
    return f"{median:.{digits}f}x ({low:.{digits}f}-{high:.{digits}f})"


def format_results(results, markdown=False):
    headers = ["case", "dtype", "n", "threads", "numpy ms", "fastblas ms (spread)",
               "recipe ms", "vs numpy", "vs recipe"]
    rows = []
    for r in results:
        t = r["times"]
        fastblas = f"{_ms(t['fastblas'][0])} ({_ms(t['fastblas'][1])}-{_ms(t['fastblas'][2])})"
        has_recipe = "recipe" in t
        rows.append([r["case"], r["dtype"], str(r["size"]), r["threads"],
                     _ms(t["numpy"][0]), fastblas,
                     _ms(t["recipe"][0]) if has_recipe else "-",
                     _span(ratio(r["rounds"], "numpy", "fastblas")),
                     _span(ratio(r["rounds"], "recipe", "fastblas")) if has_recipe else "-"])
    return _timing.format_table(headers, rows, markdown, left=4)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bench_dtypes", description=__doc__.split("\n\n")[0],
        epilog="vs numpy / vs recipe: the other contender's time over fastblas's, "
               "median (lowest-highest) over the rounds.")
    parser.add_argument("--dtypes", type=lambda s: [x.strip() for x in s.split(",")],
                        help=f"among {', '.join(DTYPES)} (default: all)")
    parser.add_argument("--vectors", type=_timing.parse_int_list,
                        help="vector lengths (default: 32,100000)")
    parser.add_argument("--sizes", type=_timing.parse_int_list,
                        help="square matrix sizes (default: 64,256,1024)")
    parser.add_argument("--memory", type=int,
                        help="n of the int64 (n x n) product whose peak memory is "
                             "measured, 0 for none (default: 4096)")
    parser.add_argument("--repeat", type=int, help="rounds (default: 3)")
    parser.add_argument("--threads", type=_timing.parse_int_list,
                        help="BLAS thread caps (threadpoolctl), default 1")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (int8, int64 full, float16; n = 32 and 16; "
                             "one small stack; one round); explicit options still win")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else DEFAULTS)
    for key in ("dtypes", "vectors", "sizes", "memory", "repeat", "threads"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    unknown = [d for d in settings["dtypes"] if d not in DTYPES]
    if unknown:
        parser.error(f"--dtypes: unknown {', '.join(unknown)} (choose among {', '.join(DTYPES)})")
    if settings["repeat"] < 1 or min(settings["threads"], default=0) < 1:
        parser.error("--repeat and every --threads count must be at least 1")

    _timing.print_header(
        "fastblas dtypes comparison: ms per call", settings,
        "speed-up = the other's time / fastblas's time, median (lowest-highest) of "
        f"{settings['repeat']} rounds of 3 interleaved timings")
    print()
    with np.errstate(invalid="ignore", over="ignore"):   # the recipe on full-range int64
        results = run(settings, seed=args.seed)
    print(format_results(results, args.markdown))
    if settings["memory"]:
        peaks, output = peak_memory(settings["memory"], seed=args.seed)
        n = settings["memory"]
        print(f"\npeak memory of an int64 ({n}x{n}) @ ({n}x{n}) product (tracemalloc): "
              f"output {output / 2**20:,.1f} MiB; fastblas.dot {peaks['fastblas'] / 2**20:,.1f} MiB "
              f"(output + {(peaks['fastblas'] - output) / 2**20:,.1f} MiB); recipe "
              f"{peaks['recipe'] / 2**20:,.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
