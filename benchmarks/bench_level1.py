"""Level-1 BLAS: fastblas against NumPy and SciPy's own Python BLAS wrappers.

For each operation, dtype and length n, the ns per call of

    dot   fb.dot(x, y)       np.dot(x, y)             scipy.linalg.blas.sdot/ddot(x, y)
    axpy  fb.axpy(a, x, y)   y += a * x               scipy.linalg.blas.saxpy/daxpy(x, y, a=a)
    nrm2  fb.nrm2(x)         np.linalg.norm(x)        scipy.linalg.blas.snrm2/dnrm2(x)
    scal  fb.scal(a, x)      x *= a                   scipy.linalg.blas.sscal/dscal(a, x)

and the speed-up of fastblas (other contender's time / fastblas's time), the three
contenders timed interleaved in one process (see ``_timing``). Each is measured
with the BLAS capped at 1 thread and, for the lengths where OpenBLAS may use
threads, at 2 threads (threadpoolctl; without it, the BLAS default), where each
timing follows a pause (``_timing.spin_pause``).

Run as ``fastblas bench level1`` or ``python -m fastblas.benchmarks.bench_level1``.
"""
import argparse

import numpy as np
import scipy.linalg.blas

import fastblas as fb

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing

DEFAULTS = dict(sizes=[8, 32, 128, 1024, 65536, 2**20], dtypes=["float32", "float64"],
                repeat=7, threads=[1, 2], target=0.015)
QUICK = dict(sizes=[32, 1024, 2**20], dtypes=["float32"], repeat=3, threads=[1],
             target=0.005)

# OpenBLAS runs level-1 calls on one thread below about 10000 elements: shorter
# vectors are measured at the first thread count only.
MULTI_THREAD_MIN_N = 10000

# The statements timed. Their names are bound by `_namespace` to plain (local)
# names, so that no contender pays a module attribute lookup (`np.dot`) per call.
# axpy adds 0.5*x to y on every call and scal multiplies x by 1 + 2**-20 (not 1,
# which a BLAS may skip), so millions of calls leave the data finite and normal.
OPERATIONS = {
    "dot": {"fastblas": "fb_dot(x, y)", "numpy": "np_dot(x, y)", "scipy": "sp_dot(x, y)"},
    "axpy": {"fastblas": "fb_axpy(a, x, y)", "numpy": "y += a * x",
             "scipy": "sp_axpy(x, y, a=a)"},
    "nrm2": {"fastblas": "fb_nrm2(x)", "numpy": "norm(x)", "scipy": "sp_nrm2(x)"},
    "scal": {"fastblas": "fb_scal(s, x)", "numpy": "x *= s", "scipy": "sp_scal(s, x)"},
}
LEGEND = [
    "dot:  numpy = np.dot(x, y)          scipy = scipy.linalg.blas.sdot/ddot(x, y)",
    "axpy: numpy = y += a * x            scipy = scipy.linalg.blas.saxpy/daxpy(x, y, a=a)",
    "nrm2: numpy = np.linalg.norm(x)     scipy = scipy.linalg.blas.snrm2/dnrm2(x)",
    "scal: numpy = x *= a                scipy = scipy.linalg.blas.sscal/dscal(a, x)",
]
PANEL_TITLES = {"dot": "dot: x . y", "axpy": "axpy: y += a x", "nrm2": "nrm2: ||x||",
                "scal": "scal: x *= a"}
LEGEND_MARKDOWN = [f"- `{line}`" for line in LEGEND] + [""]
CONTENDERS = ["fastblas", "numpy", "scipy"]
OTHERS = CONTENDERS[1:]


def _namespace(dtype, n, rng):
    """Fresh operands and the functions under test, bound to plain names."""
    prefix = "s" if dtype == np.float32 else "d"
    return {
        "x": rng.random(n, dtype=dtype), "y": rng.random(n, dtype=dtype),
        "a": 0.5, "s": 1.0 + 2.0**-20,
        "fb_dot": fb.dot, "fb_axpy": fb.axpy, "fb_nrm2": fb.nrm2, "fb_scal": fb.scal,
        "np_dot": np.dot, "norm": np.linalg.norm,
        **{f"sp_{op}": getattr(scipy.linalg.blas, prefix + op) for op in OPERATIONS},
    }


def run(sizes, dtypes, repeat, threads, target, seed=0):
    """Time every operation; returns one dict per (op, dtype, n, threads) whose
    ``seconds`` maps each contender to its ``_timing.Timing`` per call."""
    rng = np.random.default_rng(seed)
    results = []
    for position, (label, limit) in enumerate(_timing.blas_thread_limits(threads)):
        with limit():
            for dtype in map(np.dtype, dtypes):
                for n in sizes:
                    if position > 0 and n < MULTI_THREAD_MIN_N:
                        continue
                    for op, statements in OPERATIONS.items():
                        seconds = _timing.time_interleaved(
                            statements, _namespace(dtype, n, rng), repeat, target,
                            pause=_timing.spin_pause(label))
                        results.append(dict(op=op, dtype=dtype.name, n=n, threads=label,
                                            seconds=seconds))
    results.sort(key=lambda r: (list(OPERATIONS).index(r["op"]), r["dtype"], r["n"],
                                r["threads"]))
    return results


def _label(result):
    return f"{result['op']} {result['dtype']} n={result['n']} {result['threads']} thr"


def format_results(results, markdown=False):
    headers = (["op", "dtype", "n", "threads"] + [f"{c} ns" for c in CONTENDERS]
               + [f"vs {c}" for c in OTHERS])
    rows = [[r["op"], r["dtype"], str(r["n"]), r["threads"]]
            + [_timing.format_timing(r["seconds"][c], scale=1e9) for c in CONTENDERS]
            + [f"{r['seconds'][c] / r['seconds']['fastblas']:.2f}x" for c in OTHERS]
            for r in results]
    return _timing.format_table(headers, rows, markdown, left=2)


def spread_warning(results):
    return _timing.spread_warning({_label(r): r["seconds"].values() for r in results})


def plot(results, path):
    """One panel per operation: speed-up of fastblas against n, a line per
    (contender, dtype, threads)."""
    panels = {}
    for r in results:
        series = panels.setdefault(PANEL_TITLES[r["op"]], {})
        for other in OTHERS:
            label = f"vs {other}, {r['dtype']}, {r['threads']} thr"
            series.setdefault(label, []).append(
                (r["n"], r["seconds"][other] / r["seconds"]["fastblas"]))
    _timing.plot_speedups(panels, path, xlabel="n (vector length, log scale)",
                          title="fastblas level 1: speed-up against NumPy and SciPy "
                                "(above 1x: fastblas is faster)", binary_x=True)


DESCRIPTION = """\
Level-1 BLAS: fastblas against NumPy and SciPy's own Python BLAS wrappers.

For each operation, dtype and vector length n, the ns per call of
  dot   fastblas.dot(x, y)      np.dot(x, y)          scipy.linalg.blas.sdot/ddot
  axpy  fastblas.axpy(a, x, y)  y += a * x            scipy.linalg.blas.saxpy/daxpy
  nrm2  fastblas.nrm2(x)        np.linalg.norm(x)     scipy.linalg.blas.snrm2/dnrm2
  scal  fastblas.scal(a, x)     x *= a                scipy.linalg.blas.sscal/dscal
timed interleaved in one process, and fastblas's speed-up (other's time /
fastblas's time)."""

EPILOG = """\
Each time is the median of the rounds, with the interquartile range as a % of
it; a warning names the rows whose spread exceeds 20% and says when the
machine is busier than its cores. Times include timeit's loop overhead: the
empty-call line printed first gives it."""


def build_parser(prog="fastblas bench level1"):
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_timing.parse_int_list,
                        help="vector lengths, e.g. 8,32,2**20 (default: %s)"
                        % ",".join(map(str, DEFAULTS["sizes"])))
    _timing.add_run_options(
        parser,
        quick_help="a short run (float32, n=32,1024,2**20, 1 thread, 3 rounds of ~5 ms); "
                   "explicit options still win",
        plot_help="also write the speed-ups against n as a PNG, one panel per "
                  "operation (needs matplotlib)",
        name="level1",
        threads_help="BLAS thread caps (threadpoolctl), default 1,2; lengths "
                     f"below {MULTI_THREAD_MIN_N} use the first only")
    return parser


def main(argv=None, prog="fastblas bench level1"):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    _timing.require_matplotlib(parser, args.plot)
    _timing.check_output_directory(parser, "--plot", args.plot)
    settings = _timing.settings_from_args(parser, args, DEFAULTS, QUICK)

    title = "fastblas level-1 comparison: ns per call"
    _timing.print_header(title, settings, "speed-up = other's time / fastblas's time")
    overhead = _timing.python_call_overhead(repeat=settings["repeat"], target=settings["target"])
    print(f"  empty Python call f(): {overhead['f()']:.1f} ns "
          f"(timeit loop alone: {overhead['pass']:.1f} ns)")
    for line in LEGEND:
        print("  " + line)
    print()
    results = run(settings["sizes"], settings["dtypes"], settings["repeat"],
                  settings["threads"], settings["target"], seed=args.seed)
    notes = [spread_warning(results), _timing.load_warning()]
    _timing.print_results(format_results(results, args.markdown), results, plot, args.plot,
                          notes)
    if args.results:
        paths = _timing.save_results(args.results, "level1", title, settings,
                                     "\n".join(LEGEND_MARKDOWN + [format_results(results, True)]),
                                     results, notes)
        print("results written to " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
