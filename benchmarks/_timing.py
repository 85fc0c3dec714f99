"""The timing engine shared by the comparison scripts of fastblas.benchmarks.

The rules it implements:

* contenders are timed interleaved in one process: every round times each
  contender once, in a rotating order, so that all of them see the same machine
  state (a shared, noisy machine drifts between quiet and slow phases);
* one timing runs the statement ``loops`` times, ``loops`` chosen so that a timing
  lasts about ``target`` seconds; the figure kept per contender is the median
  over the rounds, in seconds per call, with the interquartile range of the
  rounds as its spread;
* results are compared as ratios measured in the same run;
* a warning says when the machine was busier than its usable cores, or when a
  row's spread exceeds ``SPREAD_LIMIT`` of its median;
* results can be saved as JSON and Markdown, with the machine they ran on.

Timing
    ``time_interleaved(contenders, namespace, repeat, target, loops)`` returns
    one ``Timing`` per contender: a float (the median seconds per call) that
    also holds every round's figure (``samples``) and their ``iqr``;
    ``interleaved_with_pauses(runners, repeat, pause)`` times single long calls
    (an epoch, a search) with an untimed pause before each.
Threads
    ``blas_thread_limits(threads)``: context managers capping the BLAS pools;
    ``spin_pause(label)``: the pause before each timing at that thread count.
Report
    ``print_header``, ``format_table``, ``format_timing``, ``format_significant``,
    ``print_results``, ``spread_warning``, ``load_warning``, ``save_results``.
Options
    ``add_run_options``, ``settings_from_args``, ``parse_int_list``,
    ``require_matplotlib``.
Plots
    ``plot_speedups`` and the pieces it is made of (``speedup_figure``,
    ``style_speedup_axes``, ``finish_figure``).
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
import timeit

from fastblas.cli._options import positive_int  # noqa: F401  (argparse type)

__all__ = [
    "SPREAD_LIMIT", "Timing", "add_results_option", "add_run_options", "blas_thread_limits",
    "check_output_directory", "describe_machine",
    "finish_figure", "format_significant", "format_table", "format_timing",
    "interleaved_with_pauses", "load_warning",
    "machine_info", "parse_int_list", "plot_speedups", "print_header", "print_results",
    "positive_int", "python_call_overhead", "require_matplotlib", "save_results",
    "series_styles", "settings_from_args", "spin_pause",
    "speedup_figure", "spread_warning", "style_speedup_axes", "time_interleaved",
    "usable_cores",
]

# A row whose interquartile range exceeds this fraction of its median is flagged.
SPREAD_LIMIT = 0.20

MATPLOTLIB_HINT = "--plot needs matplotlib, which is not installed: pip install matplotlib"
THREADPOOLCTL_HINT = ("threadpoolctl is not installed, so the BLAS thread count cannot be "
                      "set: timings use the BLAS default (pip install threadpoolctl)")


# ---------------------------------------------------------------- timing

class Timing(float):
    """The median of ``samples`` (seconds per call, one per round), as a float.

    Arithmetic on it gives plain floats; ``samples``, ``iqr`` and
    ``relative_spread`` keep what the median summarises.
    """

    def __new__(cls, samples):
        samples = tuple(sorted(samples))
        if not samples:
            raise ValueError("a Timing needs at least one sample")
        timing = super().__new__(cls, statistics.median(samples))
        timing.samples = samples
        return timing

    def __getnewargs__(self):
        return (self.samples,)

    @property
    def iqr(self):
        """Interquartile range of the samples (inclusive quartiles: half the range
        for 2 or 3 samples; 0 for one)."""
        if len(self.samples) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q3 - q1

    @property
    def relative_spread(self):
        """``iqr`` as a fraction of the median."""
        return self.iqr / self if self > 0 else 0.0

    def as_dict(self):
        return {"median": float(self), "iqr": self.iqr, "samples": list(self.samples)}


def _calibrate(timer, target):
    """Loops per timing so that one timing lasts about ``target`` seconds."""
    loops = 1
    while True:
        # The best of three short timings: a stall of a millisecond or two (the
        # host taking the CPU away) in a timing of a few calls makes a 0.1 us
        # call look like a 1 ms one, and the rounds would then time a handful of
        # calls each, timeit's own overhead included.
        elapsed = timer.timeit(loops)
        if elapsed < target:
            elapsed = min(elapsed, *timer.repeat(2, loops))
        # Scale from a timing long enough (>= target/10) to be measured well.
        if elapsed >= target / 10:
            estimate = max(1, round(loops * target / elapsed))
            # Stalls in all three timings still inflate the time per call: a
            # timing at the estimated count, which a stall can only lengthen,
            # then ends well short of the target, and calibration goes on from it.
            if estimate <= loops or timer.timeit(estimate) >= target / 4:
                return estimate
            loops = estimate
        else:
            loops *= 10


def time_interleaved(contenders, namespace=None, repeat=7, target=0.015, loops=None,
                     pause=0.0):
    """Seconds per call of each contender, the contenders timed interleaved.

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
    loops : int, optional
        Calls per timing, for every contender, instead of calibrating: ``loops=1``
        times single long calls (a training epoch) with no warm-up call.
    pause : float
        Seconds of untimed sleep before each timing of the rounds, so that no
        contender pays for the BLAS threads the previous one left spinning.

    Returns
    -------
    dict mapping each name to its ``Timing`` (a float: the median seconds per call).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    if loops is not None and loops < 1:
        raise ValueError(f"loops must be >= 1, got {loops}")
    names = list(contenders)
    namespace = dict(namespace or {})
    as_locals = "\n".join(f"{name} = globals()[{name!r}]" for name in namespace)
    timers = {name: timeit.Timer(contenders[name], setup=as_locals, globals=namespace)
              for name in names}
    counts = {name: loops or _calibrate(timers[name], target) for name in names}
    per_call = {name: [] for name in names}
    for round_ in range(repeat):
        start = round_ % len(names)
        for name in names[start:] + names[:start]:
            if pause:
                time.sleep(pause)
            per_call[name].append(timers[name].timeit(counts[name]) / counts[name])
    return {name: Timing(per_call[name]) for name in names}


def interleaved_with_pauses(runners, repeat, pause):
    """``time_interleaved``'s rounds of single calls (one call per runner, a
    callable, the order rotating), with ``pause`` seconds of untimed sleep before
    each call, so that no runner pays for the BLAS threads another left spinning."""
    labels = list(runners)
    samples = {label: [] for label in labels}
    for round_ in range(repeat):
        start = round_ % len(labels)
        for label in labels[start:] + labels[:start]:
            time.sleep(pause)
            timing = time_interleaved({label: runners[label]}, repeat=1, loops=1)
            samples[label] += timing[label].samples
    return {label: Timing(samples[label]) for label in labels}


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


# After a call of more than one thread, OpenBLAS's worker threads spin for about
# 0.1 s before they sleep (2**28 cycles: OPENBLAS_THREAD_TIMEOUT, 28 by default),
# and NumPy's OpenBLAS and SciPy's (fastblas's) are two libraries with two pools.
# On 2 cores, a product right after the other library's shares the cores with
# those threads: float32 (256 x 256) products alternating np.dot and fastblas.dot,
# 2 threads, took 4.0 ms a call, against 0.17-0.23 ms for either one alone. One
# float64 (10 x 784) @ (784 x 256) np.matmul after one fastblas.gemm took 23-29 ms
# (medians) when it followed within 0.05 s, 0.38 ms after 0.15 s or 0.3 s.
SPIN_PAUSE = 0.15


def spin_pause(label):
    """Seconds of pause before each timing at the thread count ``label`` (from
    ``blas_thread_limits``): SPIN_PAUSE, so that no contender runs beside the
    threads another left spinning; none at one thread, where no thread spins."""
    return 0.0 if label == "1" else SPIN_PAUSE


# ---------------------------------------------------------------- the machine

def usable_cores():
    """The cores this process may run on (its CPU affinity), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:     # not Linux
        return os.cpu_count() or 1


def _load_average():
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):   # Windows
        return None


def load_warning():
    """A warning line when the 1-minute load average exceeds the usable cores, else None."""
    load, cores = _load_average(), usable_cores()
    if load is None or load <= cores:
        return None
    return (f"warning: the 1-minute load average is {load:.2f}, more than the {cores} usable "
            "cores: other processes compete for the CPU, so times are slower and noisier "
            "than on a quiet machine")


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
    """One dict per BLAS library loaded in the process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [dict(owner=os.path.basename(os.path.dirname(lib["filepath"])),  # numpy.libs, ...
                 library=lib["internal_api"], version=lib["version"],
                 architecture=lib.get("architecture"), threads=lib["num_threads"],
                 threading_layer=lib.get("threading_layer"))
            for lib in threadpool_info() if lib.get("user_api") == "blas"]


# Environment variables that change how the BLAS libraries run, reported when set.
BLAS_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "OMP_NUM_THREADS")


def machine_info():
    """The machine and the software the timings are taken with, as a dict."""
    import numpy
    import scipy
    import scipy.linalg  # noqa: F401  loads SciPy's BLAS so that threadpoolctl sees it
    try:
        import fastblas
        # where from: a script run as a file may import an installed fastblas
        # rather than the source tree beside it
        fastblas_version = f"{fastblas.__version__} ({os.path.dirname(fastblas.__file__)})"
    except ImportError as exc:
        fastblas_version = f"not importable ({exc})"
    return dict(cpu=_cpu_model(), logical_cores=os.cpu_count(), usable_cores=usable_cores(),
                load_average_1min=_load_average(), os=platform.platform(),
                python=platform.python_version(), numpy=numpy.__version__,
                scipy=scipy.__version__, fastblas=fastblas_version, blas=_blas_libraries(),
                blas_environment={name: os.environ[name] for name in BLAS_ENVIRONMENT
                                  if name in os.environ})


def describe_machine(info=None):
    """Lines describing ``info`` (default: ``machine_info()``)."""
    info = info or machine_info()
    load = info["load_average_1min"]
    lines = [
        f"CPU: {info['cpu']}, {info['logical_cores']} logical cores "
        f"({info['usable_cores']} usable); 1-minute load average "
        + ("unknown" if load is None else f"{load:.2f}"),
        f"OS: {info['os']}",
        f"Python {info['python']}, NumPy {info['numpy']}, SciPy {info['scipy']}, "
        f"fastblas {info['fastblas']}",
    ]
    environment = info.get("blas_environment")     # absent from older result files
    if environment:
        lines.append("BLAS environment: " + ", ".join(f"{name}={value}"
                                                      for name, value in environment.items()))
    if info["blas"] is None:
        return lines + ["BLAS: unknown (pip install threadpoolctl to see which library)"]
    for lib in info["blas"] or [dict(owner="?", library="none found", version="", threads="?",
                                     architecture=None, threading_layer=None)]:
        lines.append(f"BLAS ({lib['owner']}): {lib['library']} {lib['version']}, "
                     f"{lib['architecture'] or '?'} kernels, {lib['threads']} "
                     f"thread{'' if lib['threads'] == 1 else 's'} "
                     f"({lib['threading_layer'] or '?'})")
    return lines


# ---------------------------------------------------------------- report

def format_significant(value, digits=3):
    """``value`` with ``digits`` significant digits and no exponent: 0.0523, 4.00,
    183, 1,835, 105,750."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


def format_timing(timing, scale=1.0, digits=3):
    """``"43.4 ±2%"``: the median times ``scale`` and the spread as a % of the median."""
    return f"{format_significant(scale * timing, digits)} ±{100 * timing.relative_spread:.0f}%"


def format_table(headers, rows, markdown=False, left=1):
    """Aligned plain-text table: the first ``left`` columns left-aligned (labels),
    the others right-aligned (numbers).

    ``rows`` are sequences of already formatted strings, one per header. With
    ``markdown=True``, the same table as GitHub Markdown.
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


def spread_warning(timings):
    """A warning line naming the rows whose spread exceeds SPREAD_LIMIT, else None.

    ``timings`` maps a row's label to its ``Timing`` (or an iterable of Timings:
    the row is flagged when any of them is).
    """
    flagged = []
    for label, row in timings.items():
        row = [row] if isinstance(row, Timing) else list(row)
        worst = max(t.relative_spread for t in row)
        if worst > SPREAD_LIMIT:
            flagged.append(f"{label} (±{100 * worst:.0f}%)")
    if not flagged:
        return None
    return (f"warning: the spread (interquartile range) exceeds {100 * SPREAD_LIMIT:.0f}% "
            f"of the median in {len(flagged)} row(s): {'; '.join(flagged)}. Their ratios "
            "are unreliable: rerun them on a quieter machine or with more --repeat")


def print_header(title, settings, ratios):
    """What is timed (``title``), how, what the ratios mean, on which machine, and a
    warning when the machine is already busy."""
    how = f"median of {settings['repeat']} interleaved timings"
    if "target" in settings:
        how += f" of ~{1e3 * settings['target']:.0f} ms"
    print(f"{title}; {how}, ± the interquartile range as a % of the median; {ratios}")
    for line in describe_machine():
        print("  " + line)
    warning = load_warning()
    if warning:
        print(warning)


def print_results(table, results, plot, path, notes=()):
    """The table, the warning ``notes`` (None entries skipped), then the plot
    ``plot(results, path)`` when a path was asked for."""
    print(table)
    for note in notes:
        if note:
            print(note)
    if path:
        plot(results, path)
        print(f"\nplot written to {path}")


def _jsonable(value):
    if isinstance(value, Timing):
        return value.as_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):   # NumPy scalars
        return value.item()
    return value


def save_results(directory, name, title, settings, markdown_tables, results, notes=()):
    """Write ``DIRECTORY/NAME.json`` (settings, machine, every sample) and
    ``DIRECTORY/NAME.md`` (the title, the machine, the tables, the warnings).

    ``markdown_tables`` is a Markdown table, or a list of (heading, table).
    Returns the two paths.
    """
    os.makedirs(directory, exist_ok=True)
    info = machine_info()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    notes = [note for note in notes if note]
    if isinstance(markdown_tables, str):
        markdown_tables = [(None, markdown_tables)]
    json_path = os.path.join(directory, f"{name}.json")
    with open(json_path, "w") as f:
        json.dump(_jsonable(dict(benchmark=name, title=title, time=now,
                                 command=" ".join(sys.argv), settings=settings, machine=info,
                                 warnings=notes, results=results)), f, indent=1)
        f.write("\n")
    md_path = os.path.join(directory, f"{name}.md")
    with open(md_path, "w") as f:
        f.write(f"# {title}\n\n{now}; median of {settings.get('repeat')} interleaved rounds, "
                "± the interquartile range as a % of the median.\n\n")
        f.writelines(f"- {line}\n" for line in describe_machine(info))
        for heading, table in markdown_tables:
            f.write(f"\n## {heading}\n\n" if heading else "\n")
            f.write(table + "\n")
        if notes:
            f.write("\n" + "\n".join(f"> {note}" for note in notes) + "\n")
    return json_path, md_path


# ---------------------------------------------------------------- options

def parse_int_list(text):
    """argparse type: ``"8,32,2**20"`` -> ``[8, 32, 1048576]`` (also accepts ``2^20``)."""
    values = []
    for item in text.replace(" ", "").split(","):
        base, sep, exponent = item.replace("^", "**").partition("**")
        try:
            value = int(base) ** int(exponent) if sep else int(base)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected integers or powers like 2**20, got {item!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {item!r}")
        values.append(value)
    return values


def add_run_options(parser, quick_help, plot_help, threads_help, name=None):
    """Add the options shared by the micro-benchmarks to ``parser``; with a ``name``,
    ``--results`` too (its files are NAME.json and NAME.md)."""
    parser.add_argument("--dtypes", type=lambda s: s.split(","),
                        help="float32 and/or float64 (default: float32,float64)")
    parser.add_argument("--repeat", type=int,
                        help="interleaved rounds; the median is kept (default: 7)")
    parser.add_argument("--threads", type=parse_int_list, help=threads_help)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table as Markdown")
    parser.add_argument("--plot", metavar="FILE.png", help=plot_help)
    if name is not None:
        add_results_option(parser, f"{name}.json and {name}.md")


def add_results_option(parser, files):
    """``--results DIR``; ``files`` says which files it writes there."""
    parser.add_argument("--results", metavar="DIR",
                        help=f"also save the results, with the machine, as {files} in DIR "
                             "(created if missing)")


def settings_from_args(parser, args, defaults, quick, dtypes=("float32", "float64")):
    """Merge the settings of a run: ``quick`` if ``args.quick`` else ``defaults``,
    each key overridden by the option of the same name when it was given.

    Checks the keys every script shares (``dtypes``, each one of ``dtypes``;
    ``repeat``; ``threads``) and stops through ``parser.error`` on a bad value.
    """
    settings = dict(quick if args.quick else defaults)
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    bad = [d for d in settings.get("dtypes", []) if d not in dtypes]
    if bad:
        parser.error(f"--dtypes: expected some of {', '.join(dtypes)}; got {', '.join(bad)}")
    if settings.get("repeat", 1) < 1:
        parser.error(f"--repeat: expected a positive integer, got {settings['repeat']}")
    if min(settings.get("threads", [1]), default=0) < 1:
        parser.error("--threads: expected thread counts of at least 1")
    return settings


def require_matplotlib(parser, path):
    """Stop with the install hint before any timing if ``--plot`` was asked for in vain."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error(MATPLOTLIB_HINT)


def check_output_directory(parser, option, path):
    """Stop before any timing when ``path``'s directory does not exist."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parser.error(f"{option}: the directory {directory} does not exist")


# ---------------------------------------------------------------- plots

def _si_label(value, binary=False):
    """``1K``, ``64K``, ``1M`` (powers of 1024 when ``binary``, else of 1000)."""
    base = 1024 if binary else 1000
    for suffix in ("", "K", "M", "G", "T"):
        if abs(value) < base:
            return f"{value:g}{suffix}"
        value /= base
    return f"{value:g}P"


def speedup_figure(n_panels, ncols=2, panel_size=(5.5, 3.8)):
    """A bare Figure (no pyplot: no backend switch, no global state) and its axes."""
    from matplotlib.figure import Figure
    ncols = min(ncols, n_panels)
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 1.2),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).flat
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def style_speedup_axes(ax, title, xlabel, binary_x=False):
    """Log axes: x labelled 8, 1K, 1M; speed-up labelled 0.5x, 1x, 2x, 5x, 10x; a
    dashed line at 1x (as fast)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    ax.set_xscale("log", base=2 if binary_x else 10)
    ax.set_yscale("log")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, zorder=0)
    if binary_x:
        ax.xaxis.set_major_locator(LogLocator(base=4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _si_label(v, binary_x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, 0.8), max(high, 1.25))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("speed-up of fastblas (x, log scale)")


def finish_figure(fig, path, title, handles, labels, legend_columns=4):
    """One legend for all panels, below them (never over the data), the title, the PNG."""
    fig.legend(handles, labels, loc="outside lower center", ncols=legend_columns,
               fontsize="small", frameon=False)
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def plot_speedups(panels, path, xlabel, title="", binary_x=False):
    """Write a PNG of speed-up against size: one panel per operation.

    ``panels`` maps a panel title to ``{series label: [(x, speedup), ...]}``; a
    series keeps its colour and style in every panel.
    """
    labels = list(dict.fromkeys(label for series in panels.values() for label in series))
    styles = series_styles(labels)
    fig, axes = speedup_figure(len(panels))
    handles = {}
    for ax, (panel, series) in zip(axes, panels.items()):
        for label, points in series.items():
            xs, ys = zip(*sorted(points))
            handles[label], = ax.plot(xs, ys, label=label, **styles[label])
        style_speedup_axes(ax, panel, xlabel, binary_x)
    finish_figure(fig, path, title, list(handles.values()), list(handles))


def series_styles(labels):
    """A colour and marker per series; labels ending in ", N thr" share them across N,
    solid for the first thread count seen, dashed for the others."""
    from matplotlib import colormaps
    colours = colormaps["tab10"].colors
    markers = "osD^v<>ph*"
    families, first_threads, styles = {}, {}, {}
    for label in labels:
        family, sep, threads = label.rpartition(", ")
        if not (sep and threads.endswith(" thr")):
            family, threads = label, ""
        i = families.setdefault(family, len(families))
        first = first_threads.setdefault(family, threads)
        styles[label] = dict(color=colours[i % len(colours)], marker=markers[i % len(markers)],
                             markersize=4, linewidth=1.3,
                             linestyle="-" if threads == first else "--")
    return styles
