"""Time one training epoch over Fashion-MNIST: fastblas against the alternatives.

    python benchmarks/bench_train.py            # or: fastblas bench train
    python benchmarks/bench_train.py --quick    # a smoke test, seconds

Each configuration is one network and recipe; its contenders train it for one
epoch over the 60000 training images (or the subset embedded in fastblas, said
so), timed interleaved in one process (every round times each contender once, in
a rotating order), and the table shows the median epoch over ``--repeat`` rounds.

Configurations (positional arguments; default: all):
  rbm          the classic CD-1 recipe: 784-500, momentum 0.9, minibatch 100
  rbm-sklearn  scikit-learn's BernoulliRBM defaults: 784-256, PCD, minibatch 10
  mlp          the classic tutorial network: 784-500-10 tanh, plain SGD, minibatch 100
  mlp-adam     784-100-10 relu, Adam, minibatch 32 (per-batch overhead shows)
  mlp-sklearn  scikit-learn's MLPClassifier defaults: 784-100-10 relu, Adam, minibatch 200

Contenders, when installed, in float32 and float64: the NumPy references of
``references.py`` (the "before"), fastblas.nn, scikit-learn, PyTorch (MLP, CPU),
and "gemm floor": the same epoch's matrix products alone, into preallocated
outputs, made by ``fastblas.gemm`` through SciPy's BLAS (the one fastblas's loops
call): the bound for fastblas's epoch, and the ratios' last column. NumPy ships
its own OpenBLAS build, which can be faster or slower at these shapes; the row
"gemm floor, NumPy's BLAS" makes the same products with ``np.matmul(..., out=)``.

To add a contender: ``config.add(name, make)`` in a configuration's function;
``make(X, y)`` builds the model (untimed) and returns a function that trains it
for one epoch over (X, y), X already in the dtype being timed.
"""
import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

try:
    from . import _timing, references
except ImportError:   # run as a file: python benchmarks/bench_train.py
    import _timing
    import references

from fastblas.datasets import EmbeddedDataWarning, find_fashion_mnist, load_fashion_mnist

DTYPES = (np.float32, np.float64)
N_CLASSES = 10


@dataclass
class Contender:
    name: str
    dtype: type
    make: Callable   # make(X, y) -> epoch(), X already in dtype
    role: str = ""   # "numpy", "sklearn" or "floor": the baselines of the table's ratios


@dataclass
class Configuration:
    name: str
    description: str
    contenders: list = field(default_factory=list)

    def add(self, name, make, role="", requires=None):
        """One contender per dtype, if ``requires`` (module, or (module, attribute)) imports."""
        if requires is not None and _importable(*np.atleast_1d(requires)) is None:
            return
        self.contenders.extend(Contender(name, dtype, make, role) for dtype in DTYPES)


def _batches(n_samples, batch_size):
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def _importable(module, attribute=None):
    """The module (or one of its attributes), or None when it cannot be imported."""
    try:
        mod = __import__(module, fromlist=["_"])
        return getattr(mod, attribute) if attribute else mod
    except ImportError:
        return None


# ---------------------------------------------------------------- RBM

def matmul_into(library):
    """``out[...] = a @ b`` through NumPy's BLAS (np.matmul) or SciPy's (fastblas.gemm)."""
    if library == "numpy":
        return lambda a, b, out: np.matmul(a, b, out=out)
    import fastblas
    return lambda a, b, out: fastblas.gemm(1.0, a, b, 0.0, out)


def add_floors(config, floor, n_hidden, batch_size):
    """The gemm floor through fastblas (the ratios' baseline) and through NumPy's BLAS."""
    config.add("gemm floor", floor(n_hidden, batch_size, "fastblas"), role="floor",
               requires="fastblas")
    config.add("gemm floor, NumPy's BLAS", floor(n_hidden, batch_size, "numpy"))


def rbm_gemm_floor(n_hidden, batch_size, library):
    """The matrix products of a CD-1 (or PCD-1) epoch, alone, into preallocated outputs."""
    matmul = matmul_into(library)

    def make(X, y):
        n_visible = X.shape[1]
        W = np.zeros((n_visible, n_hidden), dtype=X.dtype)
        # Only the shapes matter here, not the values: buffers for h0 and p_h1, v0 and v1.
        hidden = np.zeros((2, batch_size, n_hidden), dtype=X.dtype)
        visible = np.zeros((2 * batch_size, n_visible), dtype=X.dtype)
        grad = np.zeros_like(W)
        batches = _batches(X.shape[0], batch_size)

        def epoch():
            for batch in batches:
                v0 = X[batch]
                m = v0.shape[0]
                matmul(v0, W, hidden[0, :m])                         # v0 -> h0
                matmul(hidden[0, :m], W.T, visible[m:2 * m])         # h0 -> v1
                matmul(visible[m:2 * m], W, hidden[1, :m])           # v1 -> p_h1
                # the two gradient products fused into one with k = 2 * batch
                matmul(visible[:2 * m].T, hidden[:, :m].reshape(2 * m, n_hidden), grad)
        return epoch
    return make


def rbm_cd1(n_hidden=500, batch_size=100, learning_rate=0.1, momentum=0.9):
    """The classic recipe: CD-1 with momentum 0.9, lr 0.1, minibatch 100, 500 hidden units."""
    config = Configuration(
        "rbm", f"Bernoulli RBM 784-{n_hidden}, CD-1, momentum {momentum}, lr {learning_rate}, "
        f"minibatch {batch_size} (scikit-learn: its own PCD, no momentum)")

    def numpy_ref(X, y):
        model = references.NumpyRBM(n_hidden, learning_rate, momentum, batch_size,
                                    dtype=X.dtype, random_state=0)
        return lambda: model.epoch(X)

    def fastblas_rbm(X, y):
        from fastblas.nn import BernoulliRBM
        model = BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate,
                             batch_size=batch_size, n_iter=1, momentum=momentum,
                             persistent=False, cd_k=1, dtype=X.dtype.name, random_state=0)
        return lambda: model.fit(X)

    def sklearn_rbm(X, y):
        from sklearn.neural_network import BernoulliRBM
        model = BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate,
                             batch_size=batch_size, n_iter=1, random_state=0)
        return lambda: model.fit(X)

    config.add("numpy reference", numpy_ref, role="numpy")
    config.add("fastblas", fastblas_rbm, requires=("fastblas.nn", "BernoulliRBM"))
    config.add("scikit-learn", sklearn_rbm, role="sklearn", requires="sklearn")
    add_floors(config, rbm_gemm_floor, n_hidden, batch_size)
    return config


def rbm_sklearn_defaults():
    """What changing the import gives: scikit-learn's defaults (256 units, minibatch 10, PCD)."""
    config = Configuration("rbm-sklearn", "Bernoulli RBM with scikit-learn's defaults: "
                           "784-256, PCD-1, lr 0.1, minibatch 10")

    def fastblas_rbm(X, y):
        from fastblas.nn import BernoulliRBM
        model = BernoulliRBM(n_iter=1, dtype=X.dtype.name, random_state=0)
        return lambda: model.fit(X)

    def sklearn_rbm(X, y):
        from sklearn.neural_network import BernoulliRBM
        model = BernoulliRBM(n_iter=1, random_state=0)
        return lambda: model.fit(X)

    config.add("fastblas", fastblas_rbm, requires=("fastblas.nn", "BernoulliRBM"))
    config.add("scikit-learn", sklearn_rbm, role="sklearn", requires="sklearn")
    add_floors(config, rbm_gemm_floor, 256, 10)
    return config


# ---------------------------------------------------------------- MLP

def mlp_gemm_floor(n_hidden, batch_size, library):
    """The matrix products of a one-hidden-layer MLP epoch, alone, into preallocated outputs."""
    matmul = matmul_into(library)

    def make(X, y):
        n_features = X.shape[1]
        W1 = np.zeros((n_features, n_hidden), dtype=X.dtype)
        W2 = np.zeros((n_hidden, N_CLASSES), dtype=X.dtype)
        H = np.zeros((batch_size, n_hidden), dtype=X.dtype)
        dH = np.zeros_like(H)
        Z = np.zeros((batch_size, N_CLASSES), dtype=X.dtype)
        gW1, gW2 = np.zeros_like(W1), np.zeros_like(W2)
        batches = _batches(X.shape[0], batch_size)

        def epoch():
            for batch in batches:
                Xb = X[batch]
                m = Xb.shape[0]
                matmul(Xb, W1, H[:m])           # forward, hidden layer
                matmul(H[:m], W2, Z[:m])        # forward, output layer
                matmul(H[:m].T, Z[:m], gW2)     # backward: output weights
                matmul(Z[:m], W2.T, dH[:m])     # backward: to the hidden layer
                matmul(Xb.T, dH[:m], gW1)       # backward: hidden weights
        return epoch
    return make


def mlp_configuration(name, n_hidden, activation, solver, batch_size, learning_rate):
    """One hidden layer, softmax, no weight penalty, no shuffling: the same steps everywhere."""
    config = Configuration(
        name, f"MLP 784-{n_hidden}-10, {activation}, softmax cross-entropy, "
        f"{'plain SGD' if solver == 'sgd' else 'Adam'} lr {learning_rate}, minibatch {batch_size}")
    classes = np.arange(N_CLASSES)
    settings = dict(hidden_layer_sizes=(n_hidden,), activation=activation, solver=solver,
                    learning_rate_init=learning_rate, alpha=0.0, batch_size=batch_size,
                    shuffle=False, random_state=0)
    if solver == "sgd":
        settings.update(momentum=0.0, nesterovs_momentum=False)

    def numpy_ref(X, y):
        model = references.NumpyMLP(n_hidden, learning_rate, batch_size, activation=activation,
                                    solver=solver, dtype=X.dtype, random_state=0)
        return lambda: model.epoch(X, y)

    def fastblas_mlp(X, y):
        from fastblas.nn import MLPClassifier
        model = MLPClassifier(**settings, dtype=X.dtype.name)
        return lambda: model.partial_fit(X, y, classes=classes)

    def sklearn_mlp(X, y):
        from sklearn.neural_network import MLPClassifier
        model = MLPClassifier(**settings)
        return lambda: model.partial_fit(X, y, classes=classes)

    def torch_mlp(X, y):
        import torch
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], n_hidden),
            torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU(),
            torch.nn.Linear(n_hidden, N_CLASSES)).to(Xt.dtype)
        optimizer = (torch.optim.SGD if solver == "sgd" else torch.optim.Adam)(
            model.parameters(), lr=learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        batches = _batches(X.shape[0], batch_size)

        def epoch():
            for batch in batches:
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(Xt[batch]), yt[batch]).backward()
                optimizer.step()
        return epoch

    config.add("numpy reference", numpy_ref, role="numpy")
    config.add("fastblas", fastblas_mlp, requires=("fastblas.nn", "MLPClassifier"))
    config.add("scikit-learn", sklearn_mlp, role="sklearn", requires="sklearn")
    config.add("pytorch (cpu)", torch_mlp, requires="torch")
    add_floors(config, mlp_gemm_floor, n_hidden, batch_size)
    return config


def mlp_sklearn_defaults():
    """What changing the import gives: MLPClassifier() (100 relu units, Adam, minibatch 200)."""
    config = Configuration("mlp-sklearn", "MLPClassifier with scikit-learn's defaults: "
                           "784-100-10, relu, Adam lr 0.001, alpha 1e-4, minibatch 200, shuffled")
    classes = np.arange(N_CLASSES)

    def fastblas_mlp(X, y):
        from fastblas.nn import MLPClassifier
        model = MLPClassifier(random_state=0, dtype=X.dtype.name)
        return lambda: model.partial_fit(X, y, classes=classes)

    def sklearn_mlp(X, y):
        from sklearn.neural_network import MLPClassifier
        model = MLPClassifier(random_state=0)
        return lambda: model.partial_fit(X, y, classes=classes)

    config.add("fastblas", fastblas_mlp, requires=("fastblas.nn", "MLPClassifier"))
    config.add("scikit-learn", sklearn_mlp, role="sklearn", requires="sklearn")
    add_floors(config, mlp_gemm_floor, 100, 200)
    return config


CONFIGURATIONS = {
    "rbm": rbm_cd1,
    "rbm-sklearn": rbm_sklearn_defaults,
    "mlp": lambda: mlp_configuration("mlp", 500, "tanh", "sgd", 100, 0.1),
    "mlp-adam": lambda: mlp_configuration("mlp-adam", 100, "relu", "adam", 32, 1e-3),
    "mlp-sklearn": mlp_sklearn_defaults,
}


# ---------------------------------------------------------------- timing

@contextlib.contextmanager
def torch_threads(threads):
    """Cap PyTorch's own thread pool too (threadpoolctl caps the BLAS pools); None: as is."""
    torch = _importable("torch")   # imported now, so that its contenders start capped too
    if torch is None or threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def time_epochs(contenders, data, repeat, warmup_samples):
    """Median seconds of one epoch for each contender, timed interleaved.

    ``data`` maps a dtype to (X, y). Each contender first trains a throw-away
    model on ``warmup_samples`` images (first-call costs: imports, BLAS threads),
    then ``repeat`` rounds time one epoch of every contender, in rotating order.
    """
    epochs = []
    for contender in contenders:
        X, y = data[contender.dtype]
        contender.make(X[:warmup_samples], y[:warmup_samples])()
        epochs.append(contender.make(X, y))
    seconds = [[] for _ in contenders]
    for round_ in range(repeat):
        for i in np.roll(np.arange(len(contenders)), -round_):
            start = time.perf_counter()
            epochs[i]()
            seconds[i].append(time.perf_counter() - start)
    return [statistics.median(s) for s in seconds]


def result_rows(contenders, seconds, n_samples):
    """Table rows: time, samples/s, speed-ups over the NumPy reference and scikit-learn,
    distance to the gemm floor (each against the contender of the same dtype)."""
    def time_of(role, dtype):
        return next((t for c, t in zip(contenders, seconds)
                     if c.role == role and c.dtype == dtype), None)

    rows = []
    for contender, t in zip(contenders, seconds):
        numpy_t, sklearn_t, floor_t = (time_of(role, contender.dtype)
                                       for role in ("numpy", "sklearn", "floor"))
        rows.append([contender.name, np.dtype(contender.dtype).name, f"{t:.3f}",
                     f"{n_samples / t:,.0f}",
                     f"{numpy_t / t:.2f}x" if numpy_t else "-",
                     f"{sklearn_t / t:.2f}x" if sklearn_t else "-",
                     f"{t / floor_t:.2f}x" if floor_t else "-"])
    return rows


HEADERS = ["contender", "dtype", "epoch s", "samples/s", "speed-up vs numpy",
           "vs scikit-learn", "x gemm floor"]


def load_data(path, n_samples):
    """{dtype: (X, y)} of the first ``n_samples`` training images, and where they came from."""
    try:
        directory = find_fashion_mnist(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmbeddedDataWarning)   # said in the header
            X, y = load_fashion_mnist("train", path=path, dtype=np.float64)
    except (OSError, ValueError) as exc:     # missing, truncated or corrupt files
        raise SystemExit(f"cannot load Fashion-MNIST: {exc}") from exc
    X, y = X[:n_samples], y[:n_samples]
    source = directory or ("the small subset embedded in fastblas (the full data: "
                           "sudo apt-get install dataset-fashion-mnist, or FASTBLAS_DATA=dir)")
    data = {dtype: (np.ascontiguousarray(X, dtype=dtype), y) for dtype in DTYPES}
    return data, source


def plot(results, path):
    """Bar chart of each contender's speed-up over the NumPy (else scikit-learn) float32 one."""
    from matplotlib.figure import Figure   # no pyplot: leaves the caller's backend alone

    fig = Figure(figsize=(6 * len(results), 4))
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, (title, contenders, seconds) in zip(axes.flat, results):
        baseline, base_name = next(
            ((t, c.name) for role in ("numpy", "sklearn") for c, t in zip(contenders, seconds)
             if c.role == role and c.dtype == np.float32), (min(seconds), "the fastest"))
        labels = [f"{c.name} {np.dtype(c.dtype).name}" for c in contenders]
        ax.barh(labels, [baseline / t for t in seconds])
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel(f"speed-up over {base_name} float32 (x)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="fastblas bench train", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", metavar="CONFIG",
                        help=f"configurations to run: {', '.join(CONFIGURATIONS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed epochs per contender; the median is shown (default 3)")
    parser.add_argument("--n-samples", type=int, default=60000,
                        help="training images per epoch (default: all 60000)")
    parser.add_argument("--threads", type=_timing.parse_int_list,
                        help="BLAS thread caps (threadpoolctl), e.g. 1,2 "
                             "(default: 1 and all cores)")
    parser.add_argument("--data", metavar="DIR",
                        help="directory holding the Fashion-MNIST IDX files")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 500 images, one round, the BLAS's default threads")
    parser.add_argument("--markdown", action="store_true",
                        help="print the tables as Markdown (for the README)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also write a bar chart of the speed-ups")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.configs) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(CONFIGURATIONS)}")
    if args.repeat < 1 or args.n_samples < 1:
        parser.error("--repeat and --n-samples must be positive")
    _timing.require_matplotlib(parser, args.plot)
    if args.quick:
        args.n_samples, args.repeat = min(args.n_samples, 500), 1
    return args


def thread_settings(args):
    """``[(threads or None, label, context manager factory)]``: the BLAS caps to time under."""
    if args.quick and args.threads is None:
        return [(None, "default threads", contextlib.nullcontext)]
    threads = args.threads or sorted({1, os.cpu_count() or 1})
    return [(int(label) if label.isdigit() else None,
             f"{label} BLAS thread(s)" if label.isdigit() else "default threads", limit)
            for label, limit in _timing.blas_thread_limits(threads)]


def main(argv=None):
    args = parse_args(argv)
    data, source = load_data(args.data, args.n_samples)
    n_samples = data[np.float32][0].shape[0]
    print(f"one training epoch over {n_samples} Fashion-MNIST images from {source}")
    print(f"median of {args.repeat} epoch(s), contenders interleaved")
    for line in _timing.describe_machine():
        print("  " + line)
    results = []
    for name in args.configs or CONFIGURATIONS:
        config = CONFIGURATIONS[name]()
        for threads, label, limit in thread_settings(args):
            print(f"\n{config.description}; {label}")
            with limit(), torch_threads(threads):
                seconds = time_epochs(config.contenders, data, args.repeat,
                                      warmup_samples=min(n_samples, 200))
            rows = result_rows(config.contenders, seconds, n_samples)
            print(_timing.format_table(HEADERS, rows, args.markdown, left=2))
            results.append((f"{config.name}, {label}", config.contenders, seconds))
    if args.plot:
        plot(results, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
