"""``fastblas`` / ``fastblas demo``: what fastblas is for, measured on this machine.

1. small vectors: ``fastblas.dot`` and ``axpy`` against NumPy, per call;
2. integer and half-precision products, which NumPy computes without BLAS;
3. an MLP: ``fastblas.nn.MLPClassifier`` against scikit-learn's, same settings,
   the two trained epoch by epoch in turn, so that they share the machine's state;
4. an RBM, and whether its features help a linear classifier.

Every timing runs with the same BLAS thread count (``--threads``, default 1).
"""
import statistics
import warnings

import numpy as np

from fastblas import _recipes
from fastblas.cli import _options
from fastblas.cli._progress import Progress
from fastblas.cli._training import EpochTrainer, StopRequest
from fastblas.cli.bench import benchmark_module
from fastblas.cli.train import train

MLP_RECIPE = "mlp-sklearn"    # MLPClassifier(): what changing the import gives
RBM_RECIPE = "rbm"


def description():
    return """\
What fastblas is for, measured on this machine in under a minute: small-vector
calls against NumPy, integer and half-precision products, an MLP against
scikit-learn's with the same settings, and an RBM whose features feed a linear
classifier. Every timing uses the same BLAS thread count (--threads)."""


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: fewer timing rounds, 1000 images, 2 epochs")
    parser.add_argument("--epochs", type=_options.positive_int, default=10, metavar="N",
                        help="training epochs of each model (default: 10)")
    parser.add_argument("--n-train", type=_options.positive_int, default=5000, metavar="N",
                        help="training images (default: 5000, the embedded subset's size)")
    _options.add_data(parser)
    _options.add_threads(parser, "default: 1, the steadiest timings on a shared machine")


def _timing():
    return benchmark_module("_timing")


def _ratio(slow, fast):
    """``"8.3x (7.9-8.6x)"``: the ratio of the medians, and the range of the ratios
    of the rounds, paired in order."""
    ratios = sorted(s / f for s, f in zip(slow.samples, fast.samples))
    return f"{slow / fast:.1f}x ({ratios[0]:.1f}-{ratios[-1]:.1f}x)"


def small_vectors(repeat):
    """dot and axpy on short float32 vectors: fastblas against NumPy, per call."""
    timing = _timing()
    print("\n1. Small vectors, float32: time per call, median of "
          f"{repeat} interleaved rounds ± interquartile range")
    import fastblas
    rng = np.random.default_rng(0)
    rows, timings = [], {}
    for n in (32, 1024):
        space = {"x": rng.random(n, dtype=np.float32), "y": rng.random(n, dtype=np.float32),
                 "a": 0.5, "fb_dot": fastblas.dot, "fb_axpy": fastblas.axpy,
                 "np_dot": np.dot}
        for op, ours, numpy_statement in (("dot", "fb_dot(x, y)", "np_dot(x, y)"),
                                          ("axpy", "fb_axpy(a, x, y)", "y += a * x")):
            # many short timings: a median that a busy neighbour's bursts barely move
            t = timing.time_interleaved({"fastblas": ours, "numpy": numpy_statement},
                                        space, repeat=repeat, target=0.002)
            label = f"{op} n={n}"
            timings[label] = t.values()
            rows.append([op, f"{n:,}", timing.format_timing(t["fastblas"], 1e9),
                         timing.format_timing(t["numpy"], 1e9),
                         _ratio(t["numpy"], t["fastblas"])])
    print("   numpy: np.dot(x, y) and y += a * x")
    _print_table(["op", "n", "fastblas ns", "numpy ns", "fastblas speed-up"], rows,
                 timings)


def _print_table(headers, rows, timings):
    """The section's table, indented, then a warning if its timings spread widely."""
    timing = _timing()
    print("\n".join("   " + line for line in timing.format_table(headers, rows, left=1)
                    .splitlines()))
    warning = timing.spread_warning(timings)
    if warning:
        print("   " + warning)


def exotic_products(repeat):
    """int32 and float16 (256x256)@(256x256): fastblas.dot against np.dot."""
    timing = _timing()
    import fastblas
    print("\n2. Products NumPy computes without BLAS, (256x256)@(256x256): "
          f"median of {repeat} rounds")
    rng = np.random.default_rng(1)
    rows, timings = [], {}
    for dtype in (np.int32, np.float16):
        a = rng.integers(-100, 100, (256, 256)).astype(dtype)
        b = rng.integers(-100, 100, (256, 256)).astype(dtype)
        if dtype == np.float16:
            a, b = a / np.float16(64), b / np.float16(64)
        same = np.array_equal(fastblas.dot(a, b), np.dot(a, b))
        t = timing.time_interleaved({"fastblas": lambda: fastblas.dot(a, b),
                                     "numpy": lambda: np.dot(a, b)}, repeat=repeat,
                                    target=0.05)
        name = np.dtype(dtype).name
        timings[name] = t.values()
        rows.append([name, timing.format_timing(t["fastblas"], 1e3),
                     timing.format_timing(t["numpy"], 1e3), _ratio(t["numpy"], t["fastblas"]),
                     "yes" if same else "no (float16 rounding)"])
    _print_table(["dtype", "fastblas.dot ms", "np.dot ms", "fastblas speed-up", "equal"],
                 rows, timings)


def mlp_against_sklearn(data, epochs):
    """fastblas.nn.MLPClassifier and scikit-learn's, the same recipe, epochs interleaved."""
    recipe = _recipes.RECIPES[MLP_RECIPE]
    print(f"\n3. MLP {recipe.layers()}, {recipe.description}; {epochs} epochs on "
          f"{len(data.X_train):,} images")
    library, note = _recipes.choose_library(recipe)
    if library != "fastblas":
        print(f"   skipped: {note}")
        return
    trainers = {name: EpochTrainer(_recipes.make_estimator(recipe, name, epochs=epochs),
                                   "mlp", name, recipe.batch_size, data.X_train, data.y_train)
                for name in ("fastblas", "sklearn")}
    n = len(data.X_train)
    progress = Progress("   fastblas and scikit-learn", epochs, 2 * n)
    seconds = {name: [] for name in trainers}
    with StopRequest() as stop, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            for epoch in range(1, epochs + 1):
                metrics = {}
                for offset, (name, trainer) in zip((0, n), trainers.items()):
                    spent, _ = trainer.run_epoch(lambda done: progress.advance(offset + done),
                                                 stop)
                    seconds[name].append(spent)
                    metrics[f"{name} acc"] = trainer.model.score(data.X_test, data.y_test)
                progress.end_epoch(epoch, metrics)
        finally:
            progress.close()
    fast, slow = (_timing().Timing(seconds[name]) for name in ("fastblas", "sklearn"))
    for name, title, t in (("fastblas", "fastblas.nn.MLPClassifier", fast),
                           ("sklearn", "sklearn.neural_network.MLPClassifier", slow)):
        print(f"   {title:<38} {t:.3f} s per epoch (median), test accuracy "
              f"{trainers[name].model.score(data.X_test, data.y_test):.3f}")
    print(f"   fastblas is {_ratio(slow, fast)} as fast, epoch by epoch")


def rbm_features(data, epochs):
    """Train the classic RBM once; compare a linear classifier on the pixels with one
    on the pixels and the RBM's features."""
    recipe = _recipes.RECIPES[RBM_RECIPE]
    library, note = _recipes.choose_library(recipe)
    print(f"\n4. RBM {recipe.layers()}, {recipe.description}; {epochs} epochs on "
          f"{len(data.X_train):,} images ({library})")
    if note:
        print(f"   {note}")
    model = _recipes.make_estimator(recipe, library, epochs=epochs)
    trainer = EpochTrainer(model, "rbm", library, recipe.batch_size, data.X_train)
    with StopRequest() as stop:
        records = train(trainer, epochs, data, f"   {library} rbm", stop)
    per_epoch = statistics.median(r["seconds"] for r in records)
    print(f"   {per_epoch:.3f} s per epoch (median), {len(data.X_train) / per_epoch:,.0f} "
          "images/s")
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print(f"   the linear classifier {_options.SKLEARN_HINT}")
        return

    def accuracy(X_train, X_test):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # lbfgs stopped at max_iter: fine for a probe
            clf = LogisticRegression(max_iter=200).fit(X_train, data.y_train)
        return clf.score(X_test, data.y_test)

    raw = accuracy(data.X_train, data.X_test)
    both = accuracy(np.hstack([data.X_train, model.transform(data.X_train)]),
                    np.hstack([data.X_test, model.transform(data.X_test)]))
    units = recipe.hidden_units[0]
    print(f"   logistic regression, test accuracy: on the 784 pixels {raw:.3f}; on the pixels "
          f"and the {units} RBM features {both:.3f} ({100 * (both - raw):+.1f} points)")


def _default_threads():
    """1, or None (the BLAS default) when threadpoolctl is not there to set it."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return None
    return 1


def run(args):
    threads = _default_threads() if args.threads is None else args.threads
    repeat = 9 if args.quick else 31
    n_train, epochs = (1000, 2) if args.quick else (args.n_train, args.epochs)
    with _options.blas_threads(threads):
        data = _options.load_data(args.data, n_train, 500 if args.quick else None, np.float32)
        timing = _timing()
        print("fastblas demo: SciPy's BLAS called straight from Cython"
              + (" (quick)" if args.quick else ""))
        for line in timing.describe_machine():
            print("  " + line)
        if threads is None:
            print("All timings run with the BLAS library's default thread count "
                  f"(--threads {_options.THREADPOOLCTL_HINT}).")
        else:
            print(f"All timings run with {threads} BLAS thread{'s' * (threads != 1)} "
                  "(--threads N to change).")
        warning = timing.load_warning()
        if warning:
            print(warning)
        small_vectors(repeat)
        exotic_products(max(3, repeat // 3))
        print(f"\ndata: {len(data.X_train):,} training and {len(data.X_test):,} test images, "
              f"{data.source}")
        mlp_against_sklearn(data, epochs)
        rbm_features(data, epochs)
    print("\nMore: fastblas train --help, fastblas bench --help")
    return 0
