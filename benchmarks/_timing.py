"""Small timing toolkit shared by the comparison scripts in ``benchmarks/``.

The rules it implements (see DESIGN.md, "Speed is shown in benchmarks"):

* contenders are timed **interleaved** in one process: every round times each
  contender once, in a rotating order, so that all of them see the same machine
  state (a shared, noisy machine drifts between quiet and slow phases);
* one timing runs the statement ``loops`` times, ``loops`` chosen so that a timing
  lasts about ``target`` seconds (10-20 ms by default); the figure kept per
  contender is the **median** over the rounds, in seconds per call;
* results are compared as **ratios** measured in the same run.

API
---
``time_interleaved(contenders, namespace, repeat, target)``
    median seconds per call for each contender (statements or callables).
``blas_thread_limits(threads)``
    ``(label, context manager)`` pairs that cap the BLAS thread pools through
    threadpoolctl, or one unlimited setting when threadpoolctl is missing.
``python_call_overhead()``
    ns of timeit's empty loop and of an empty Python call ``f()``, for context.
``describe_machine()``
    lines naming the CPU, cores, Python/NumPy/SciPy/fastblas versions and BLAS.
``format_table(headers, rows, markdown=False, left=1)``
    an aligned plain-text (or Markdown) table.
``require_matplotlib(parser)`` / ``plot_speedups(panels, path, ...)``
    the optional PNG of speed-up against size.
``parse_int_list(text)``
    argparse ``type=`` for ``"8,32,2**20"``.
``add_run_options(parser, quick_help, plot_help, threads_help)``
    the options every micro-benchmark takes: --dtypes, --repeat, --threads, --quick,
    --seed, --markdown, --plot.
``print_header(title, settings, ratios)`` / ``print_results(table, results, plot, path)``
    the frame of a report: what was timed and on which machine; the table and plot.
``settings_from_args(parser, args, defaults, quick)``
    the run settings: ``quick`` or ``defaults``, overridden by explicit options.

A script in this folder imports it as ``from . import _timing`` when it runs as a
module (``fastblas.benchmarks.bench_x`` or ``python -m benchmarks.bench_x``) and
as ``import _timing`` when it runs as a file (``python benchmarks/bench_x.py``).
"""
import argparse
import contextlib
import os
import platform
import statistics
import sys
import timeit

__all__ = [
    "add_run_options", "blas_thread_limits", "describe_machine", "print_header",
    "print_results", "format_table", "parse_int_list",
    "plot_speedups", "python_call_overhead", "require_matplotlib", "settings_from_args",
    "time_interleaved",
]

MATPLOTLIB_HINT = ("--plot needs matplotlib, which is not installed: "
                   "pip install matplotlib  (or pip install 'fastblas[plot]')")
THREADPOOLCTL_HINT = ("threadpoolctl is not installed, so the BLAS thread count cannot be "
                      "set: timings use the BLAS default (pip install threadpoolctl)")


def _calibrate(timer, target):
    """Loops per timing so that one timing lasts about ``target`` seconds."""
    loops = 1
    while True:
        elapsed = timer.timeit(loops)
        # Scale from a timing long enough (>= target/10) to be measured well.
        if elapsed >= target / 10:
            return max(1, round(loops * target / elapsed))
        loops *= 10


def time_interleaved(contenders, namespace=None, repeat=7, target=0.015):
    """Median seconds per call of each contender, the contenders timed interleaved.

    Parameters
    ----------
    contenders : dict mapping a name to a statement (str) or a callable
        A statement such as ``"dot(x, y)"`` or ``"y += a * x"`` is compiled by
        timeit with every name of ``namespace`` bound to a local variable (fast
        lookups, and augmented assignments work); prefer statements for calls of
        a few ns, because a callable costs one extra Python call per loop.
    namespace : dict, optional
        The names the statements use.
    repeat : int
        Rounds; each round times every contender once, starting from a rotating
        position in the list so that no contender always follows the same one.
    target : float
        Seconds one timing should last; the first timing of each contender
        calibrates its loop count (and warms it up).

    Returns
    -------
    dict mapping each name to its median seconds per call.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    names = list(contenders)
    namespace = dict(namespace or {})
    as_locals = "\n".join(f"{name} = globals()[{name!r}]" for name in namespace)
    timers = {name: timeit.Timer(contenders[name], setup=as_locals, globals=namespace)
              for name in names}
    loops = {name: _calibrate(timers[name], target) for name in names}
    per_call = {name: [] for name in names}
    for round_ in range(repeat):
        start = round_ % len(names)
        for name in names[start:] + names[:start]:
            per_call[name].append(timers[name].timeit(loops[name]) / loops[name])
    return {name: statistics.median(per_call[name]) for name in names}


def python_call_overhead(repeat=7, target=0.015):
    """ns per loop of timeit's empty loop (``pass``) and of an empty call ``f()``."""
    def f():
        pass
    seconds = time_interleaved({"pass": "pass", "f()": "f()"}, {"f": f}, repeat, target)
    return {name: 1e9 * s for name, s in seconds.items()}


def blas_thread_limits(threads):
    """``[(label, context_manager_factory), ...]`` capping the BLAS pools at each count.

    With threadpoolctl missing, returns a single ``("default", nullcontext)`` entry
    and prints why to stderr.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(THREADPOOLCTL_HINT, file=sys.stderr)
        return [("default", contextlib.nullcontext)]
    return [(str(n), lambda n=n: threadpool_limits(limits=n, user_api="blas"))
            for n in threads]


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_libraries():
    """One line per BLAS library loaded in the process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["BLAS: unknown (pip install threadpoolctl to see which library and threads)"]
    lines = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        owner = os.path.basename(os.path.dirname(lib["filepath"]))  # numpy.libs, scipy.libs, ...
        lines.append(f"BLAS ({owner}): {lib['internal_api']} {lib['version']}, "
                     f"{lib.get('architecture') or '?'}, {lib['num_threads']} threads "
                     f"({lib.get('threading_layer') or '?'})")
    return lines or ["BLAS: none found by threadpoolctl"]


def describe_machine():
    """Lines describing the machine and the software the timings were taken with."""
    import numpy
    import scipy
    import scipy.linalg  # noqa: F401  loads SciPy's BLAS so that threadpoolctl sees it
    try:
        import fastblas
        fastblas_version = f"{fastblas.__version__} ({os.path.dirname(fastblas.__file__)})"
    except ImportError as exc:
        fastblas_version = f"not importable ({exc})"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return [
        f"CPU: {_cpu_model()}, {os.cpu_count()} logical cores ({usable} usable)",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, NumPy {numpy.__version__}, "
        f"SciPy {scipy.__version__}, fastblas {fastblas_version}",
        *_blas_libraries(),
    ]


def format_table(headers, rows, markdown=False, left=1):
    """Aligned plain-text table: the first ``left`` columns left-aligned (labels),
    the others right-aligned (numbers).

    ``rows`` are sequences of already formatted strings, one per header. With
    ``markdown=True``, the same table as GitHub Markdown (for the README).
    """
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        cells = [str(c).ljust(w) if i < left else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(cells) + " |" if markdown else "  ".join(cells).rstrip()

    if markdown:
        rule = ["-" * w if i < left else "-" * (w - 1) + ":" for i, w in enumerate(widths)]
    else:
        rule = ["-" * w for w in widths]
    return "\n".join([line(headers), line(rule)] + [line(row) for row in rows])


def parse_int_list(text):
    """argparse type: ``"8,32,2**20"`` -> ``[8, 32, 1048576]`` (also accepts ``2^20``)."""
    values = []
    for item in text.replace(" ", "").split(","):
        base, sep, exponent = item.replace("^", "**").partition("**")
        try:
            value = int(base) ** int(exponent) if sep else int(base)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not an integer or a power like 2**20: {item!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"negative: {item!r}")
        values.append(value)
    return values


def add_run_options(parser, quick_help, plot_help, threads_help):
    """Add the options shared by the micro-benchmarks to ``parser``."""
    parser.add_argument("--dtypes", type=lambda s: s.split(","),
                        help="float32 and/or float64 (default: float32,float64)")
    parser.add_argument("--repeat", type=int,
                        help="interleaved rounds; the median is kept (default: 7)")
    parser.add_argument("--threads", type=parse_int_list, help=threads_help)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as Markdown (for the README)")
    parser.add_argument("--plot", metavar="FILE.png", help=plot_help)


def print_header(title, settings, ratios):
    """What is timed (``title``), how, what the ratios mean, and on which machine."""
    print(f"{title}, median of {settings['repeat']} interleaved timings of "
          f"~{1e3 * settings['target']:.0f} ms; {ratios}")
    for line in describe_machine():
        print("  " + line)


def print_results(table, results, plot, path):
    """The table, and the plot ``plot(results, path)`` when a path was asked for."""
    print(table)
    if path:
        plot(results, path)
        print(f"\nspeed-up plot written to {path}")


def settings_from_args(parser, args, defaults, quick):
    """Merge the settings of a run: ``quick`` if ``args.quick`` else ``defaults``,
    each key overridden by the option of the same name when it was given.

    Checks the keys every script shares (``dtypes``, ``repeat``, ``threads``) and
    stops through ``parser.error`` on a bad value.
    """
    settings = dict(quick if args.quick else defaults)
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    bad = [d for d in settings.get("dtypes", []) if d not in ("float32", "float64")]
    if bad:
        parser.error(f"--dtypes: only float32 and float64, got {', '.join(bad)}")
    if settings.get("repeat", 1) < 1:
        parser.error("--repeat must be at least 1")
    if min(settings.get("threads", [1]), default=0) < 1:
        parser.error("--threads: at least one thread count, each at least 1")
    return settings


def require_matplotlib(parser, path):
    """Stop with the install hint before any timing if ``--plot`` was asked for in vain."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error(MATPLOTLIB_HINT)


def plot_speedups(panels, path, xlabel, title=""):
    """Write a PNG of speed-up against size: one panel per operation.

    ``panels`` maps a panel title to ``{series label: [(x, speedup), ...]}``; the
    x axis is logarithmic and a dashed line marks a speed-up of 1 (as fast).
    """
    # A bare Figure, not pyplot: no backend switch, no global state in the caller.
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(6 * ncols, 4 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (panel, series) in zip(axes.flat, panels.items()):
        for label, points in series.items():
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, marker="o", label=label)
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
        ax.set_title(panel)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("speed-up of fastblas (x)")
        ax.legend(fontsize="small")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
