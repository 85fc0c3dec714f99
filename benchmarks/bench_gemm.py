"""Level-3 BLAS: fastblas.gemm against NumPy's matmul.

For each shape (m x k) @ (k x n), C-ordered operands, the time per call and the
GFLOP/s (2*m*n*k floating-point operations per product) of

    fastblas      fb.gemm(1.0, A, B)                    a new C
    fastblas C=   fb.gemm(1.0, A, B, C=C)               C written in place
    matmul        np.matmul(A, B)                       a new C
    matmul out=   np.matmul(A, B, out=C)                C written in place
    gemm+matmul   fb.gemm(1.0, A, B); np.matmul(A, B)   one of each, in turn

and the speed-up of fastblas (matmul's time / fastblas's time, and matmul out='s
time / fastblas C='s time), the contenders timed interleaved in one process
(see ``_timing``), with the BLAS capped at 1 and at 2 threads (threadpoolctl;
without it, the BLAS default), each timing after a pause above one thread
(``_timing.spin_pause``). NumPy's OpenBLAS and SciPy's are two thread pools:
``gemm+matmul vs alone``, the time of a gemm+matmul pair over the sum of the
fastblas and matmul times, is what alternating the two libraries costs (above
1x: each call ran beside the other pool's spinning threads).

Shapes: square 8, 64, 512, 2048 and the training shapes (100x784)@(784x500)
(a batch through a 784-500 layer), (500x100)@(100x784) (the weight gradient),
(10x784)@(784x256) and (10x256)@(784x256).T (a minibatch of 10 through
scikit-learn's default RBM and back through the same weights, few enough rows for
fastblas's own loops: both in float32, the second in float64 too). A shape ending in t, such as 10x256x784t, gives
B as the transpose of a C-ordered (n x k) array, the weights of a layer read
backwards.

Run as ``fastblas bench gemm`` or ``python -m fastblas.benchmarks.bench_gemm``.
"""
import argparse
from typing import NamedTuple

import numpy as np

import fastblas as fb

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing



class Shape(NamedTuple):
    """(m x k) @ (k x n); with b_transposed, B is the transpose of a C-ordered
    (n x k) array."""
    m: int
    k: int
    n: int
    b_transposed: bool = False


TRAINING_SHAPES = [Shape(100, 784, 500), Shape(500, 100, 784), Shape(10, 784, 256),
                   Shape(10, 256, 784, b_transposed=True)]
DEFAULTS = dict(sizes=[8, 64, 512, 2048], shapes=TRAINING_SHAPES,
                dtypes=["float32", "float64"], repeat=7, threads=[1, 2], target=0.015)
QUICK = dict(sizes=[8, 512], shapes=TRAINING_SHAPES[:1], dtypes=["float32"], repeat=3,
             threads=[1], target=0.005)

CONTENDERS = {
    "fastblas": "gemm(1.0, A, B)",
    "fastblas C=": "gemm(1.0, A, B, C=C)",
    "matmul": "matmul(A, B)",
    "matmul out=": "matmul(A, B, out=C)",
    "gemm+matmul": "gemm(1.0, A, B); matmul(A, B)",
}
# (contender, its fastblas counterpart) pairs whose time ratio is reported, and the
# title of each fastblas contender's panel in the plot.
SPEEDUPS = [("matmul", "fastblas"), ("matmul out=", "fastblas C=")]
PANELS = {"fastblas": "new C: gemm(1.0, A, B) vs matmul(A, B)",
          "fastblas C=": "in place: gemm(..., C=C) vs matmul(..., out=C)"}
SHAPE_MARKERS = "D^vsP*"


def _namespace(dtype, shape, rng):
    m, k, n, b_transposed = shape
    B = rng.random((n, k), dtype=dtype).T if b_transposed else rng.random((k, n), dtype=dtype)
    return {"A": rng.random((m, k), dtype=dtype), "B": B,
            "C": np.zeros((m, n), dtype=dtype), "gemm": fb.gemm, "matmul": np.matmul}


def run(shapes, dtypes, repeat, threads, target, seed=0):
    """Time every shape; returns one dict per (shape, dtype, threads) whose
    ``seconds`` maps each contender to its ``_timing.Timing`` per call."""
    rng = np.random.default_rng(seed)
    results = []
    for label, limit in _timing.blas_thread_limits(threads):
        with limit():
            for dtype in map(np.dtype, dtypes):
                for shape in shapes:
                    seconds = _timing.time_interleaved(
                        CONTENDERS, _namespace(dtype, shape, rng), repeat, target,
                        pause=_timing.spin_pause(label))
                    results.append(dict(shape=shape, dtype=dtype.name, threads=label,
                                        seconds=seconds))
    results.sort(key=lambda r: (r["dtype"], shapes.index(r["shape"]), r["threads"]))
    return results


def _flops(shape):
    return 2.0 * shape.m * shape.n * shape.k


def _is_square(shape):
    return shape.m == shape.k == shape.n and not shape.b_transposed


def _format_shape(shape):
    m, k, n, b_transposed = shape
    return f"({m}x{k})@({n}x{k}).T" if b_transposed else f"({m}x{k})@({k}x{n})"


def _alternation_cost(seconds):
    """A gemm+matmul pair's time over the two products' times alone."""
    return seconds["gemm+matmul"] / (seconds["fastblas"] + seconds["matmul"])


def format_results(results, markdown=False):
    headers = (["shape", "dtype", "threads"] + [f"{c} us" for c in CONTENDERS]
               + ["fastblas GFLOP/s", "matmul GFLOP/s"]
               + [f"vs {other}" for other, _ in SPEEDUPS] + ["gemm+matmul vs alone"])
    rows = [[_format_shape(r["shape"]), r["dtype"], r["threads"]]
            + [_timing.format_timing(r["seconds"][c], scale=1e6) for c in CONTENDERS]
            + [_timing.format_significant(_flops(r["shape"]) / r["seconds"][c] / 1e9)
               for c in ("fastblas", "matmul")]
            + [f"{r['seconds'][other] / r['seconds'][mine]:.2f}x" for other, mine in SPEEDUPS]
            + [f"{_alternation_cost(r['seconds']):.2f}x"]
            for r in results]
    return _timing.format_table(headers, rows, markdown, left=2)


def spread_warning(results):
    return _timing.spread_warning(
        {f"{_format_shape(r['shape'])} {r['dtype']} {r['threads']} thr": r["seconds"].values()
         for r in results})


def plot(results, path):
    """One panel per comparison: speed-up against the FLOP count. Square products
    are joined by lines, one per (dtype, threads); every other shape is a lone
    marker of its own (two shapes of one FLOP count are not joined), filled at the
    first thread count and hollow at the others."""
    from matplotlib.lines import Line2D

    def series(r):
        return f"{r['dtype']}, {r['threads']} thr"

    square = [r for r in results if _is_square(r["shape"])]
    other = [r for r in results if not _is_square(r["shape"])]
    styles = _timing.series_styles(list(dict.fromkeys(map(series, results))))
    first_threads = results[0]["threads"] if results else None
    markers = {shape: SHAPE_MARKERS[i % len(SHAPE_MARKERS)] for i, shape in
               enumerate(dict.fromkeys(r["shape"] for r in other))}
    fig, axes = _timing.speedup_figure(len(SPEEDUPS))
    handles = {}
    for ax, (slower, mine) in zip(axes, SPEEDUPS):
        for label, style in styles.items():
            points = sorted((_flops(r["shape"]), r["seconds"][slower] / r["seconds"][mine])
                            for r in square if series(r) == label)
            if points:
                handles[f"square, {label}"], = ax.plot(*zip(*points), **style)
        for r in other:
            colour = styles[series(r)]["color"]
            ax.plot([_flops(r["shape"])], [r["seconds"][slower] / r["seconds"][mine]],
                    linestyle="none", marker=markers[r["shape"]], markersize=7,
                    markeredgecolor=colour,
                    markerfacecolor=colour if r["threads"] == first_threads else "none")
        _timing.style_speedup_axes(ax, PANELS[mine], "floating-point operations per "
                                   "product, 2mnk (log scale)")
    for shape, marker in markers.items():
        handles[f"{_format_shape(shape)} (hollow: other thread counts)"] = Line2D(
            [], [], linestyle="none", marker=marker, markersize=7, color="black")
    _timing.finish_figure(fig, path, "fastblas gemm: speed-up against np.matmul "
                          "(above 1x: fastblas is faster)", list(handles.values()),
                          list(handles), legend_columns=3)


def _parse_shapes(text):
    """argparse type: ``"100x784x500,10x256x784t"`` (m x k x n, t: B transposed)
    or ``none``."""
    if text.strip().lower() == "none":
        return []
    shapes = []
    for item in text.replace(" ", "").split(","):
        b_transposed = item.lower().endswith("t")
        dims = _timing.parse_int_list(item.rstrip("tT").replace("x", ","))
        if len(dims) != 3:
            raise argparse.ArgumentTypeError(f"a shape is MxKxN or MxKxNt, got {item!r}")
        shapes.append(Shape(*dims, b_transposed))
    return shapes


DESCRIPTION = """\
Level-3 BLAS: fastblas.gemm against NumPy's matmul.

For each shape (m x k) @ (k x n), C-ordered operands (or B the transpose of a
C-ordered n x k array: shapes ending in t), the time per call and the GFLOP/s
(2mnk floating-point operations per product) of
  fastblas      fastblas.gemm(1.0, A, B)        a new C
  fastblas C=   fastblas.gemm(1.0, A, B, C=C)   C written in place
  matmul        np.matmul(A, B)                 a new C
  matmul out=   np.matmul(A, B, out=C)          C written in place
  gemm+matmul   one of each, in turn
timed interleaved in one process (above one BLAS thread, each timing after a
pause), and fastblas's speed-up (matmul's time / fastblas's time). NumPy's
OpenBLAS and SciPy's (fastblas's) are two thread pools, whose threads spin for
about 0.1 s after a call: "gemm+matmul vs alone", a pair's time over the
fastblas and matmul times added, is what alternating the two costs (above 1x:
each call ran beside the other pool's spinning threads)."""

EPILOG = """\
Each time is the median of the rounds, with the interquartile range as a % of
it; a warning names the rows whose spread exceeds 20% and says when the
machine is busier than its cores. Times include timeit's loop overhead (tens
of ns)."""


def build_parser(prog="fastblas bench gemm"):
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_timing.parse_int_list,
                        help="square sizes, e.g. 8,64 (default: 8,64,512,2048)")
    parser.add_argument("--shapes", type=_parse_shapes,
                        help="non-square products MxKxN for (MxK)@(KxN), MxKxNt for "
                             "(MxK)@(NxK).T, or none (default: the training shapes "
                             "100x784x500,500x100x784,10x784x256,10x256x784t)")
    _timing.add_run_options(
        parser,
        quick_help="a short run (float32, square 8 and 512 and (100x784)@(784x500), "
                   "1 thread, 3 rounds of ~5 ms); explicit options still win",
        plot_help="also write the speed-ups against the FLOP count as a PNG "
                  "(needs matplotlib)",
        name="gemm",
        threads_help="BLAS thread caps (threadpoolctl), default 1,2")
    return parser


def main(argv=None, prog="fastblas bench gemm"):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    _timing.require_matplotlib(parser, args.plot)
    _timing.check_output_directory(parser, "--plot", args.plot)
    settings = _timing.settings_from_args(parser, args, DEFAULTS, QUICK)
    shapes = list(dict.fromkeys([Shape(s, s, s) for s in settings["sizes"]] + settings["shapes"]))

    title = "fastblas gemm comparison: us per call"
    _timing.print_header(title, settings,
                         "GFLOP/s = 2mnk / time; speed-up = matmul's time / fastblas's time")
    print()
    results = run(shapes, settings["dtypes"], settings["repeat"], settings["threads"],
                  settings["target"], seed=args.seed)
    notes = [spread_warning(results), _timing.load_warning()]
    _timing.print_results(format_results(results, args.markdown), results, plot, args.plot,
                          notes)
    if args.results:
        paths = _timing.save_results(args.results, "gemm", title, settings,
                                     format_results(results, True), results, notes)
        print("results written to " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
