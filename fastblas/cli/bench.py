"""``fastblas bench SCRIPT [options]``: run one of the comparison scripts."""
import importlib
import importlib.util

# The scripts in fastblas.benchmarks that ``fastblas bench`` runs, with what they time.
SCRIPTS = {
    "level1": "dot, axpy, nrm2 and scal per call, against NumPy and SciPy",
    "gemm": "matrix products against NumPy's matmul",
    "train": "one training epoch against NumPy, scikit-learn and PyTorch",
    "dtypes": "integer, bool, float16 and complex products against NumPy",
    "search": "a GridSearchCV of an MLP against scikit-learn's, one and two jobs at a time",
}


def benchmark_module(name):
    """``fastblas.benchmarks.<name>`` as installed, or ``benchmarks.<name>`` in a source
    tree built in place (where benchmarks/ sits beside fastblas/); None when absent."""
    for package in ("fastblas.benchmarks", "benchmarks"):
        try:
            if importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError:     # the package itself is missing
            continue
    return None


def available_scripts():
    """The scripts of SCRIPTS that this installation holds."""
    return {name: what for name, what in SCRIPTS.items()
            if benchmark_module(f"bench_{name}") is not None}


def description():
    return """\
Run one of the comparison scripts: every contender timed in one process,
interleaved, reported as medians with their spread and as speed-ups.

examples:
  fastblas bench level1 --quick
  fastblas bench gemm --threads 1 --plot gemm.png
  fastblas bench train mlp --help"""


def add_arguments(parser):
    scripts = available_scripts()
    parser.add_argument("--threads", metavar="N",
                        help="BLAS thread counts to time, e.g. 1 or 1,2 (passed to the script)")
    parser.add_argument("script", choices=list(scripts), metavar="SCRIPT",
                        help="one of: " + "; ".join(f"{name}: {what}"
                                                    for name, what in scripts.items()))
    parser.add_argument("options", nargs="...", metavar="...",
                        help="the script's options, e.g. --quick, --threads 1, --plot FILE.png "
                             "(see: fastblas bench SCRIPT --help)")


def run(args):
    options = list(args.options)
    if args.threads is not None:
        options += ["--threads", args.threads]
    return benchmark_module(f"bench_{args.script}").main(options) or 0
