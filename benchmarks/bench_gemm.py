"""Level-3 BLAS: fastblas.gemm against NumPy's matmul.

For each shape (m x k) @ (k x n), C-ordered operands, the time per call and the
GFLOP/s (2*m*n*k floating-point operations per product) of

    fastblas      fb.gemm(1.0, A, B)          a new C
    fastblas C=   fb.gemm(1.0, A, B, C=C)     C written in place
    matmul        np.matmul(A, B)             a new C
    matmul out=   np.matmul(A, B, out=C)      C written in place

and the speed-up of fastblas (matmul's time / fastblas's time, and matmul out='s
time / fastblas C='s time), the contenders timed interleaved in one process
(medians; see ``_timing``), with the BLAS capped at 1 and at 2 threads
(threadpoolctl; without it, the BLAS default).

Shapes: square 8, 64, 512, 2048 and the training shapes (100x784)@(784x500)
(a batch through a 784-500 layer) and (500x100)@(100x784) (the weight gradient).

Run:  python -m fastblas.benchmarks.bench_gemm [--quick] [--plot speedup.png]
      (from a source checkout with an in-place build: python -m benchmarks.bench_gemm)
"""
import argparse

import numpy as np

import fastblas as fb

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing

TRAINING_SHAPES = [(100, 784, 500), (500, 100, 784)]
DEFAULTS = dict(sizes=[8, 64, 512, 2048], shapes=TRAINING_SHAPES,
                dtypes=["float32", "float64"], repeat=7, threads=[1, 2], target=0.015)
QUICK = dict(sizes=[8, 512], shapes=TRAINING_SHAPES[:1], dtypes=["float32"], repeat=3,
             threads=[1], target=0.005)

CONTENDERS = {
    "fastblas": "gemm(1.0, A, B)",
    "fastblas C=": "gemm(1.0, A, B, C=C)",
    "matmul": "matmul(A, B)",
    "matmul out=": "matmul(A, B, out=C)",
}
# (contender, its fastblas counterpart) pairs whose time ratio is reported.
SPEEDUPS = [("matmul", "fastblas"), ("matmul out=", "fastblas C=")]


def _namespace(dtype, m, k, n, rng):
    return {"A": rng.random((m, k), dtype=dtype), "B": rng.random((k, n), dtype=dtype),
            "C": np.zeros((m, n), dtype=dtype), "gemm": fb.gemm, "matmul": np.matmul}


def run(shapes, dtypes, repeat, threads, target, seed=0):
    """Time every shape; returns one dict per (shape, dtype, threads) with seconds per call."""
    rng = np.random.default_rng(seed)
    results = []
    for label, limit in _timing.blas_thread_limits(threads):
        with limit():
            for dtype in map(np.dtype, dtypes):
                for m, k, n in shapes:
                    seconds = _timing.time_interleaved(
                        CONTENDERS, _namespace(dtype, m, k, n, rng), repeat, target)
                    results.append(dict(shape=(m, k, n), dtype=dtype.name, threads=label,
                                        seconds=seconds))
    results.sort(key=lambda r: (r["dtype"], shapes.index(r["shape"]), r["threads"]))
    return results


def _gflops(result, contender):
    m, k, n = result["shape"]
    return 2.0 * m * n * k / result["seconds"][contender] / 1e9


def _format_shape(shape):
    m, k, n = shape
    return f"({m}x{k})@({k}x{n})"


def format_results(results, markdown=False):
    headers = (["shape", "dtype", "threads"] + [f"{c} us" for c in CONTENDERS]
               + ["fastblas GFLOP/s", "matmul GFLOP/s"]
               + [f"vs {other}" for other, _ in SPEEDUPS])
    rows = [[_format_shape(r["shape"]), r["dtype"], r["threads"]]
            + [f"{1e6 * r['seconds'][c]:,.1f}" for c in CONTENDERS]
            + [f"{_gflops(r, c):.1f}" for c in ("fastblas", "matmul")]
            + [f"{r['seconds'][other] / r['seconds'][mine]:.2f}x" for other, mine in SPEEDUPS]
            for r in results]
    return _timing.format_table(headers, rows, markdown, left=2)


def plot(results, path):
    panels = {}
    for r in results:
        series = panels.setdefault(r["dtype"], {})
        m, k, n = r["shape"]
        for other, mine in SPEEDUPS:
            label = f"{mine} vs {other}, {r['threads']} thr"
            series.setdefault(label, []).append(
                (2 * m * n * k, r["seconds"][other] / r["seconds"][mine]))
    _timing.plot_speedups(panels, path, xlabel="FLOP per product (2mnk)",
                          title="fastblas gemm: speed-up against np.matmul")


def _parse_shapes(text):
    """argparse type: ``"100x784x500,500x100x784"`` (m x k x n) or ``none``."""
    if text.strip().lower() == "none":
        return []
    shapes = []
    for item in text.replace(" ", "").split(","):
        dims = _timing.parse_int_list(item.replace("x", ","))
        if len(dims) != 3:
            raise argparse.ArgumentTypeError(f"a shape is MxKxN, got {item!r}")
        shapes.append(tuple(dims))
    return shapes


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bench_gemm", description=__doc__.split("\n\n")[0],
        epilog="Times include timeit's loop overhead (tens of ns).")
    parser.add_argument("--sizes", type=_timing.parse_int_list,
                        help="square sizes, e.g. 8,64 (default: 8,64,512,2048)")
    parser.add_argument("--shapes", type=_parse_shapes,
                        help="non-square products MxKxN for (MxK)@(KxN), or none "
                             "(default: the training shapes 100x784x500,500x100x784)")
    _timing.add_run_options(
        parser,
        quick_help="a short run (float32, square 8 and 512 and (100x784)@(784x500), "
                   "1 thread, 3 rounds of ~5 ms); explicit options still win",
        plot_help="also write speed-up against FLOP count as a PNG (needs matplotlib)",
        threads_help="BLAS thread caps (threadpoolctl), default 1,2")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    _timing.require_matplotlib(parser, args.plot)
    settings = _timing.settings_from_args(parser, args, DEFAULTS, QUICK)
    shapes = list(dict.fromkeys([(s, s, s) for s in settings["sizes"]] + settings["shapes"]))

    _timing.print_header("fastblas gemm comparison: us per call", settings,
                         "GFLOP/s = 2mnk / time; speed-up = matmul's time / fastblas's time")
    print()
    results = run(shapes, settings["dtypes"], settings["repeat"], settings["threads"],
                  settings["target"], seed=args.seed)
    _timing.print_results(format_results(results, args.markdown), results, plot, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
