"""The fastblas command line: ``fastblas`` or ``python -m fastblas``.

    fastblas                      the demo: level-1 table, then RBM and MLP training
    fastblas bench level1|gemm|train [options]     the comparison scripts
    fastblas train rbm|mlp [--hidden 500 --epochs 10 ... --plot filters.png]

Training runs on Fashion-MNIST (``fastblas.datasets``: the full data when found,
else the subset embedded in the package) and reports, per epoch, the loss or
reconstruction error, seconds and samples/s: as a progress bar on a terminal
(with tqdm installed), as plain lines otherwise.
"""
import argparse
import importlib
import importlib.util
import pickle
import statistics
import sys
import time
import warnings

import numpy as np

from fastblas import _recipes
from fastblas.datasets import EmbeddedDataWarning, find_fashion_mnist, load_fashion_mnist

MATPLOTLIB_HINT = 'matplotlib is not installed: pip install "fastblas[plot]"'
NN_HINT = 'pip install "fastblas[nn]"'
BENCHMARKS = ("level1", "gemm", "train")


# ---------------------------------------------------------------- data

def load_data(path, n_train, n_test, dtype):
    """(X_train, y_train, X_test, y_test), the first n of each, and a line saying where from."""
    try:
        directory = find_fashion_mnist(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmbeddedDataWarning)   # said in the line returned
            X_train, y_train = load_fashion_mnist("train", path=path, dtype=dtype)
            X_test, y_test = load_fashion_mnist("test", path=path, dtype=dtype)
    except (OSError, ValueError) as exc:     # missing, truncated or corrupt files
        raise SystemExit(f"fastblas: cannot load Fashion-MNIST: {exc}") from exc
    X_train, y_train = X_train[:n_train], y_train[:n_train]
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    if directory is None:
        source = ("the small Fashion-MNIST subset embedded in fastblas; for the full data: "
                  "sudo apt-get install dataset-fashion-mnist (or FASTBLAS_DATA=dir, --data dir)")
    else:
        source = f"Fashion-MNIST from {directory}"
    line = f"data: {len(X_train)} training and {len(X_test)} test images, {source}"
    return (X_train, y_train, X_test, y_test), line


# ---------------------------------------------------------------- models

def import_benchmark(name):
    """``fastblas.benchmarks.<name>``: benchmarks/ as installed, or in a source checkout.

    pip installs benchmarks/ as fastblas.benchmarks; a source tree built in place
    has it as the top-level package ``benchmarks`` beside ``fastblas``.
    """
    try:
        return importlib.import_module(f"fastblas.benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != "fastblas.benchmarks":
            raise
        return importlib.import_module(f"benchmarks.{name}")


def _references():
    return import_benchmark("references")   # the NumPy reference RBM and MLP


def fastblas_estimator(kind):
    """``(class, None)`` for fastblas.nn's RBM or MLP, or ``(None, why not)``."""
    name = {"rbm": "BernoulliRBM", "mlp": "MLPClassifier"}[kind]
    try:
        return getattr(importlib.import_module("fastblas.nn"), name), None
    except (ImportError, AttributeError) as exc:
        return None, f"fastblas.nn.{name} is not available ({exc}; {NN_HINT})"


def make_rbm(impl, hidden, epochs, batch_size, lr, momentum, seed, dtype, callback):
    """CD-1 with momentum, the same recipe from fastblas.nn or the NumPy reference."""
    if impl == "fastblas":
        cls, _ = fastblas_estimator("rbm")
        return cls(n_components=hidden, learning_rate=lr, batch_size=batch_size, n_iter=epochs,
                   momentum=momentum, persistent=False, cd_k=1, random_state=seed,
                   dtype=np.dtype(dtype).name, callback=callback)
    return _references().NumpyRBM(n_components=hidden, learning_rate=lr, momentum=momentum,
                                  batch_size=batch_size, n_iter=epochs, dtype=dtype,
                                  random_state=seed, callback=callback)


def make_mlp(impl, hidden, epochs, batch_size, lr, seed, dtype, callback):
    """tanh hidden layer(s), softmax output, plain minibatch SGD, no shuffling."""
    if impl == "fastblas":
        cls, _ = fastblas_estimator("mlp")
        return cls(hidden_layer_sizes=tuple(hidden), activation="tanh", solver="sgd",
                   learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                   batch_size=batch_size, max_iter=epochs, shuffle=False, random_state=seed,
                   dtype=np.dtype(dtype).name, callback=callback)
    if len(hidden) != 1:
        raise ValueError(f"the NumPy reference MLP has one hidden layer, got --hidden "
                         f"{','.join(map(str, hidden))}")
    return _references().NumpyMLP(n_hidden=hidden[0], learning_rate=lr, batch_size=batch_size,
                                  max_iter=epochs, dtype=dtype, random_state=seed,
                                  callback=callback)


def rbm_metrics(X_eval):
    def evaluate(model):
        return {"recon error": _references().reconstruction_error(model, X_eval)}
    return evaluate


def mlp_metrics(X_test, y_test):
    def evaluate(model):
        return {"loss": model.loss_curve_[-1], "test acc": model.score(X_test, y_test)}
    return evaluate


# ---------------------------------------------------------------- training

class EpochProgress:
    """``callback(epoch, model)`` (epochs count from 1): times each epoch, evaluates, reports.

    The time of an epoch runs from the end of the previous callback, so that the
    evaluation is not counted. Reports go to a tqdm bar when tqdm is installed and
    ``stream`` is a terminal, else to plain lines.
    """

    def __init__(self, label, n_epochs, n_samples, evaluate, stream=None):
        self.label, self.n_epochs, self.n_samples = label, n_epochs, n_samples
        self.evaluate = evaluate
        self.stream = stream or sys.stdout
        self.records = []
        self._bar = None
        if self.stream.isatty():
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=n_epochs, desc=label, unit="epoch", file=self.stream)
            except ImportError:
                pass
        self.start()

    def start(self):
        """Start the clock of the first epoch (call it right before fitting)."""
        self._last = time.perf_counter()

    def __call__(self, epoch, model):
        seconds = time.perf_counter() - self._last
        metrics = self.evaluate(model)
        self.records.append({"epoch": epoch, "seconds": seconds, **metrics})
        shown = {name: f"{value:.4f}" for name, value in metrics.items()}
        shown["samples/s"] = f"{self.n_samples / seconds:,.0f}"
        if self._bar is not None:
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)
        else:
            fields = "  ".join(f"{name} {value}" for name, value in shown.items())
            print(f"{self.label}: epoch {epoch}/{self.n_epochs}  {fields}  "
                  f"{seconds:.2f} s", file=self.stream, flush=True)
        self._last = time.perf_counter()

    def close(self):
        if self._bar is not None:
            self._bar.close()

    def median_seconds(self):
        """Median seconds per epoch (nan before the first epoch ended)."""
        if not self.records:
            return float("nan")
        return statistics.median(r["seconds"] for r in self.records)


def train(model, X, y, progress):
    """Fit ``model`` (fastblas.nn estimator or NumPy reference) with ``progress`` as its callback.

    ``progress`` must already be the model's callback; it is closed, and the
    callback reset (so that the model pickles), whatever happens.
    """
    progress.start()
    try:
        with warnings.catch_warnings():
            # max_iter epochs without convergence is what a fixed epoch budget means
            warnings.filterwarnings("ignore", message=".*[Mm]aximum iterations")
            model.fit(X, y)
    finally:
        progress.close()
        model.callback = None
    return model


# ---------------------------------------------------------------- plots

def _figure(**kwargs):
    # a bare Figure, no pyplot: no backend to choose, no global state
    from matplotlib.figure import Figure
    return Figure(**kwargs)


def plot_filters(components, path, n_max=100):
    """A grid of the first hidden units' weights, each as a 28x28 image scaled on its own."""
    filters = np.asarray(components[:n_max], dtype=np.float64).reshape(-1, 28, 28)
    low = filters.min(axis=(1, 2), keepdims=True)
    span = np.ptp(filters, axis=(1, 2), keepdims=True)
    filters = (filters - low) / np.where(span > 0, span, 1)
    ncols = int(np.ceil(np.sqrt(len(filters))))
    nrows = -(-len(filters) // ncols)
    tiles = np.ones((nrows * ncols, 30, 30))       # a 1-pixel white border around each
    tiles[:len(filters), 1:29, 1:29] = filters
    grid = (tiles.reshape(nrows, ncols, 30, 30).transpose(0, 2, 1, 3)
            .reshape(nrows * 30, ncols * 30))
    fig = _figure(figsize=(ncols * 0.6 + 1, nrows * 0.6 + 1))
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"RBM filters: weights of {len(filters)} hidden units")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_curves(records, path, title):
    """Training loss and test accuracy against the epoch."""
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in records]
    fig = _figure(figsize=(10, 4))
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, [r["loss"] for r in records], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    acc_ax.plot(epochs, [r["test acc"] for r in records], marker="o")
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---------------------------------------------------------------- subcommands

def run_train(args):
    dtype = np.dtype(args.dtype)
    data, source = load_data(args.data, args.n_train, args.n_test, dtype)
    X_train, y_train, X_test, y_test = data
    print(source)
    impl = args.impl
    if args.fallback_note:
        print(args.fallback_note)
    hidden = args.hidden if args.model == "mlp" else args.hidden[0]
    label = f"{impl} {args.model}"
    if args.model == "rbm":
        progress = EpochProgress(label, args.epochs, len(X_train), rbm_metrics(X_test))
        model = make_rbm(impl, hidden, args.epochs, args.batch_size, args.lr, args.momentum,
                         args.seed, dtype, progress)
    else:
        progress = EpochProgress(label, args.epochs, len(X_train), mlp_metrics(X_test, y_test))
        model = make_mlp(impl, hidden, args.epochs, args.batch_size, args.lr, args.seed,
                         dtype, progress)
    train(model, X_train, y_train, progress)
    final = progress.records[-1] if progress.records else {}
    summary = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k not in ("epoch", "seconds"))
    if progress.records:
        n_done = len(progress.records)
        print(f"{label}: {n_done} epoch{'s' if n_done != 1 else ''}, median "
              f"{progress.median_seconds():.2f} s/epoch "
              f"({len(X_train) / progress.median_seconds():,.0f} samples/s); {summary}")
    if args.save:
        with open(args.save, "wb") as f:
            pickle.dump(model, f)
        print(f"saved the model to {args.save}")
    if args.plot:
        if args.model == "rbm":
            plot_filters(model.components_, args.plot)
        else:
            layers = "-".join(map(str, [X_train.shape[1], *hidden, 10]))
            plot_curves(progress.records, args.plot, f"{label} {layers}, {dtype.name}")
        print(f"wrote {args.plot}")
    return 0


def run_bench(args):
    module = import_benchmark(f"bench_{args.script}")
    return module.main(args.args) or 0


def _train_and_time(kind, make, recipe, X_train, y_train, epochs, evaluate, describe):
    """Train fastblas's model (else the NumPy reference, said so) and print its quality;
    then time one epoch of it against the NumPy reference, interleaved.

    ``make(impl, callback)`` builds the model, ``describe(last_record)`` words its
    quality, ``recipe`` is the matching training recipe.
    """
    cls, why_not = fastblas_estimator(kind)
    impl = "numpy" if cls is None else "fastblas"
    if cls is None:
        print(f"{why_not}: training the NumPy reference instead")
    progress = EpochProgress(f"{impl} {kind}", epochs, len(X_train), evaluate)
    model = train(make(impl, progress), X_train, y_train, progress)
    print(f"  {impl}: " + describe(progress.records[-1] if progress.records else {}))
    if cls is not None:
        _print_speed(recipe, X_train, y_train)
    return model


def _print_speed(recipe, X, y, repeat=5):
    """One float32 epoch of fastblas and of the NumPy reference, interleaved; medians,
    on one BLAS thread."""
    seconds = import_benchmark("bench_train").time_recipe(recipe, X, y, repeat=repeat)
    fast, ref = seconds["fastblas"], seconds["numpy"]
    print(f"  speed, one epoch over {len(X)} images (1 BLAS thread, interleaved, "
          f"median of {repeat}): "
          f"fastblas {fast:.3f} s, NumPy reference {ref:.3f} s: "
          f"fastblas is {ref / fast:.2f}x as fast")


def _linear_probe(X_train, y_train, X_test, y_test, transform=None):
    """Test accuracy of a logistic regression on raw pixels or on ``transform`` features."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits   # a scikit-learn dependency
    if transform is not None:
        X_train, X_test = transform(X_train), transform(X_test)
    # One BLAS thread: lbfgs's many small products run several times slower on two
    # threads whenever the cores are shared (measured: 0.12 s against 6 s at 500 images).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")   # lbfgs not converged within max_iter: fine for a probe
        clf = LogisticRegression(max_iter=100).fit(X_train, y_train)
        return clf.score(X_test, y_test)


def run_demo(args):
    sizes = dict(n_train=500, n_test=300, epochs=2, hidden=64) if args.quick else \
        dict(n_train=args.n_train, n_test=10000, epochs=args.epochs, hidden=500)
    print("fastblas demo: SciPy's BLAS straight from Cython"
          + (" (quick)" if args.quick else ""))
    print("\n== level-1 BLAS: fastblas against NumPy, per call ==")
    import_benchmark("bench_level1").main(["--quick"])

    (X_train, y_train, X_test, y_test), source = load_data(
        args.data, sizes["n_train"], sizes["n_test"], np.float32)
    print(f"\n== training, float32 ==\n{source}")
    epochs, hidden, seed = sizes["epochs"], sizes["hidden"], 0

    print(f"\nBernoulli RBM 784-{hidden}, CD-1, momentum 0.9, lr 0.1, minibatch 100, "
          f"{epochs} epochs")

    def describe_rbm(last):
        return f"test reconstruction error {last.get('recon error', np.nan):.4f}"

    rbm = _train_and_time(
        "rbm", lambda impl, cb: make_rbm(impl, hidden, epochs, 100, 0.1, 0.9, seed,
                                         np.float32, cb),
        _recipes.RECIPES["rbm"].with_hidden(hidden), X_train, y_train, epochs, rbm_metrics(X_test),
        describe_rbm)
    if _sklearn_available():
        print("  linear classifier (logistic regression) test accuracy: on raw pixels "
              f"{_linear_probe(X_train, y_train, X_test, y_test):.3f}, on the "
              f"{hidden} RBM features "
              f"{_linear_probe(X_train, y_train, X_test, y_test, rbm.transform):.3f}")
    else:
        print(f"  (the linear-classifier accuracy on RBM features needs scikit-learn: {NN_HINT})")

    print(f"\nMLP 784-{hidden}-10, tanh, softmax, plain SGD lr 0.1, minibatch 100, "
          f"{epochs} epochs")

    def describe_mlp(last):
        return (f"training loss {last.get('loss', np.nan):.4f}, "
                f"test accuracy {last.get('test acc', np.nan):.3f}")

    _train_and_time(
        "mlp", lambda impl, cb: make_mlp(impl, [hidden], epochs, 100, 0.1, seed, np.float32, cb),
        _recipes.RECIPES["mlp"].with_hidden(hidden),
        X_train, y_train, epochs, mlp_metrics(X_test, y_test), describe_mlp)
    print("\nmore: fastblas bench level1|gemm|train, fastblas train rbm|mlp --help")
    return 0


def _sklearn_available():
    return importlib.util.find_spec("sklearn") is not None


# ---------------------------------------------------------------- parser

def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _layer_sizes(text):
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 500 or 256,128, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def build_parser():
    from fastblas import __version__
    parser = argparse.ArgumentParser(
        prog="fastblas", description=__doc__.split("\n\n")[0].strip() + " Default: demo.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--version", action="version", version=f"fastblas {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{demo,bench,train}")

    demo = commands.add_parser("demo", help="the main job (the default): a level-1 table, "
                               "then RBM and MLP training against the NumPy references")
    demo.add_argument("--data", metavar="DIR",
                      help="directory holding the Fashion-MNIST IDX files")
    demo.add_argument("--n-train", type=_positive_int, default=10000,
                      help="training images (default 10000)")
    demo.add_argument("--epochs", type=_positive_int, default=5, help="epochs (default 5)")
    demo.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    demo.set_defaults(func=run_demo)

    bench = commands.add_parser("bench", help="run a comparison script of benchmarks/",
                                description="Run fastblas.benchmarks.bench_SCRIPT; "
                                "the options after SCRIPT go to it "
                                "(try: fastblas bench train -h).")
    bench.add_argument("script", choices=BENCHMARKS)
    bench.add_argument("args", nargs=argparse.REMAINDER, help="options of the script")
    bench.set_defaults(func=run_bench)

    train_cmd = commands.add_parser("train", help="train an RBM or an MLP on Fashion-MNIST")
    train_cmd.add_argument("model", choices=("rbm", "mlp"))
    train_cmd.add_argument("--impl", choices=("fastblas", "numpy"), default="fastblas",
                           help="fastblas.nn (default) or the NumPy reference")
    train_cmd.add_argument("--hidden", type=_layer_sizes, default=[500],
                           help="hidden units (default 500; the MLP takes sizes like 256,128)")
    train_cmd.add_argument("--epochs", type=_positive_int, default=10, help="(default 10)")
    train_cmd.add_argument("--batch-size", type=_positive_int, default=100, help="(default 100)")
    train_cmd.add_argument("--lr", type=_positive_float, default=0.1,
                           help="learning rate (default 0.1)")
    train_cmd.add_argument("--momentum", type=float, default=0.9,
                           help="RBM momentum (default 0.9; the MLP uses plain SGD)")
    train_cmd.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train_cmd.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    train_cmd.add_argument("--n-train", type=_positive_int, default=60000,
                           help="use the first N training images (default: all)")
    train_cmd.add_argument("--n-test", type=_positive_int, default=10000,
                           help="evaluate on the first N test images (default: all)")
    train_cmd.add_argument("--data", metavar="DIR",
                           help="directory holding the Fashion-MNIST IDX files")
    train_cmd.add_argument("--save", metavar="FILE", help="pickle the trained model to FILE")
    train_cmd.add_argument("--plot", metavar="FILE.png",
                           help="RBM: a grid of learned filters; MLP: loss and accuracy curves")
    train_cmd.set_defaults(func=run_train)
    return parser


def _resolve_train_impl(parser, args):
    """Fall back from fastblas.nn to the NumPy reference (noted), and check --hidden."""
    args.fallback_note = None
    if args.impl == "fastblas":
        cls, why_not = fastblas_estimator(args.model)
        if cls is None:
            args.impl = "numpy"
            args.fallback_note = f"{why_not}: training the NumPy reference instead"
    if len(args.hidden) > 1 and (args.model == "rbm" or args.impl == "numpy"):
        parser.error(f"--hidden {','.join(map(str, args.hidden))}: the "
                     f"{'RBM' if args.model == 'rbm' else 'NumPy reference MLP'} "
                     "has one hidden layer")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    if getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error(f"--plot: {MATPLOTLIB_HINT}")
    if args.command == "train":
        _resolve_train_impl(parser, args)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
