"""Time one training epoch over Fashion-MNIST: fastblas against the alternatives.

    python benchmarks/bench_train.py            # or: fastblas bench train
    python benchmarks/bench_train.py --quick    # a smoke test, seconds

Each configuration is one network and recipe; its contenders train it for one
epoch over the 60000 training images (or the subset embedded in fastblas, said
so), timed interleaved in one process (every round times each contender once, in
a rotating order), and the table shows the median epoch over ``--repeat`` rounds.

Contenders, when installed: the NumPy references of ``references.py`` (the
"before"), fastblas.nn, scikit-learn, PyTorch (MLP, CPU), and "gemm floor": the
same epoch's matrix products alone, with preallocated outputs (``np.matmul(...,
out=)``) and nothing else, the time no implementation can beat on this BLAS.

To add a contender, append one ``Contender(name, dtype, make)`` to a
configuration: ``make(X, y)`` builds the model (untimed) and returns a function
that trains it for one epoch over (X, y), already in ``dtype``.
"""
import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

try:
    from . import references
except ImportError:   # run as a file: python benchmarks/bench_train.py
    import references

from fastblas.datasets import EmbeddedDataWarning, find_fashion_mnist, load_fashion_mnist

DTYPES = (np.float32, np.float64)
N_CLASSES = 10


@dataclass
class Contender:
    name: str
    dtype: type
    make: Callable   # make(X, y) -> epoch(), X already in dtype


@dataclass
class Configuration:
    name: str
    description: str
    contenders: list = field(default_factory=list)


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


# ---------------------------------------------------------------- RBM, CD-1

def rbm_configuration(n_hidden=500, batch_size=100, learning_rate=0.1, momentum=0.9):
    """The classic recipe: CD-1 with momentum, minibatch 100."""
    config = Configuration(
        f"rbm 784-{n_hidden} CD-1",
        f"Bernoulli RBM, {n_hidden} hidden units, CD-1, momentum {momentum}, "
        f"lr {learning_rate}, minibatch {batch_size}")

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
        # scikit-learn's own algorithm: persistent CD, no momentum.
        model = BernoulliRBM(n_components=n_hidden, learning_rate=learning_rate,
                             batch_size=batch_size, n_iter=1, random_state=0)
        return lambda: model.fit(X)

    def gemm_floor(X, y):
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
                np.matmul(v0, W, out=hidden[0, :m])                     # v0 -> h0
                np.matmul(hidden[0, :m], W.T, out=visible[m:2 * m])     # h0 -> v1
                np.matmul(visible[m:2 * m], W, out=hidden[1, :m])       # v1 -> p_h1
                # the two gradient products fused into one with k = 2 * batch
                np.matmul(visible[:2 * m].T, hidden[:2, :m].reshape(2 * m, n_hidden), out=grad)
        return epoch

    for dtype in DTYPES:
        config.contenders.append(Contender("numpy reference", dtype, numpy_ref))
    if _importable("fastblas.nn", "BernoulliRBM") is not None:
        for dtype in DTYPES:
            config.contenders.append(Contender("fastblas", dtype, fastblas_rbm))
    if _importable("sklearn.neural_network") is not None:
        for dtype in DTYPES:
            config.contenders.append(Contender("scikit-learn (PCD)", dtype, sklearn_rbm))
    for dtype in DTYPES:
        config.contenders.append(Contender("gemm floor", dtype, gemm_floor))
    return config


# ---------------------------------------------------------------- MLP, SGD

def mlp_configuration(n_hidden=500, batch_size=100, learning_rate=0.1):
    """The classic tutorial network: 784-500-10, tanh, softmax, plain SGD, minibatch 100."""
    config = Configuration(
        f"mlp 784-{n_hidden}-10 SGD",
        f"MLP 784-{n_hidden}-10, tanh, softmax cross-entropy, plain SGD lr {learning_rate}, "
        f"minibatch {batch_size}")
    classes = np.arange(N_CLASSES)
    sgd = dict(hidden_layer_sizes=(n_hidden,), activation="tanh", solver="sgd",
               learning_rate_init=learning_rate, momentum=0.0, nesterovs_momentum=False,
               alpha=0.0, batch_size=batch_size, shuffle=False, random_state=0)

    def numpy_ref(X, y):
        model = references.NumpyMLP(n_hidden, learning_rate, batch_size, dtype=X.dtype,
                                    random_state=0)
        return lambda: model.epoch(X, y)

    def fastblas_mlp(X, y):
        from fastblas.nn import MLPClassifier
        model = MLPClassifier(**sgd, dtype=X.dtype.name)
        return lambda: model.partial_fit(X, y, classes=classes)

    def sklearn_mlp(X, y):
        from sklearn.neural_network import MLPClassifier
        model = MLPClassifier(**sgd)
        return lambda: model.partial_fit(X, y, classes=classes)

    def torch_mlp(X, y):
        import torch
        tdtype = torch.float32 if X.dtype == np.float32 else torch.float64
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], n_hidden), torch.nn.Tanh(),
                                    torch.nn.Linear(n_hidden, N_CLASSES)).to(tdtype)
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        batches = _batches(X.shape[0], batch_size)

        def epoch():
            for batch in batches:
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(Xt[batch]), yt[batch]).backward()
                optimizer.step()
        return epoch

    def gemm_floor(X, y):
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
                np.matmul(Xb, W1, out=H[:m])           # forward, hidden layer
                np.matmul(H[:m], W2, out=Z[:m])        # forward, output layer
                np.matmul(H[:m].T, Z[:m], out=gW2)     # backward: output weights
                np.matmul(Z[:m], W2.T, out=dH[:m])     # backward: to the hidden layer
                np.matmul(Xb.T, dH[:m], out=gW1)       # backward: hidden weights
        return epoch

    for dtype in DTYPES:
        config.contenders.append(Contender("numpy reference", dtype, numpy_ref))
    if _importable("fastblas.nn", "MLPClassifier") is not None:
        for dtype in DTYPES:
            config.contenders.append(Contender("fastblas", dtype, fastblas_mlp))
    if _importable("sklearn.neural_network") is not None:
        for dtype in DTYPES:
            config.contenders.append(Contender("scikit-learn", dtype, sklearn_mlp))
    if _importable("torch") is not None:
        for dtype in DTYPES:
            config.contenders.append(Contender("pytorch (cpu)", dtype, torch_mlp))
    for dtype in DTYPES:
        config.contenders.append(Contender("gemm floor", dtype, gemm_floor))
    return config


CONFIGURATIONS = {"rbm": rbm_configuration, "mlp": mlp_configuration}


# ---------------------------------------------------------------- timing

@contextlib.contextmanager
def thread_limit(threads):
    """Cap the BLAS pools (threadpoolctl) and PyTorch at ``threads``; None: leave as is."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch else None
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            if torch:
                torch.set_num_threads(threads)
            yield
    finally:
        if torch:
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


def format_table(headers, rows, markdown=False):
    """Aligned plain-text (or Markdown) table: first two columns left-aligned, the rest right."""
    if markdown:
        return "\n".join(["| " + " | ".join(headers) + " |",
                          "|" + "|".join([":---"] * 2 + ["---:"] * (len(headers) - 2)) + "|"]
                         + ["| " + " | ".join(map(str, row)) + " |" for row in rows])
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)]
                     + [line(row) for row in rows])


def result_rows(contenders, seconds, n_samples):
    """Table rows: time, samples/s, speed-up over the NumPy reference, distance to the floor."""
    def find(name, dtype):
        return next((t for c, t in zip(contenders, seconds)
                     if c.name == name and c.dtype == dtype), None)

    rows = []
    for contender, t in zip(contenders, seconds):
        reference = find("numpy reference", contender.dtype)
        floor = find("gemm floor", contender.dtype)
        rows.append([contender.name, np.dtype(contender.dtype).name, f"{t:.3f}",
                     f"{n_samples / t:,.0f}",
                     f"{reference / t:.2f}x" if reference else "-",
                     f"{t / floor:.2f}x" if floor else "-"])
    return rows


HEADERS = ["contender", "dtype", "epoch s", "samples/s", "speed-up vs numpy", "x gemm floor"]


def load_data(path, n_samples):
    """{dtype: (X, y)} of the first ``n_samples`` training images, and where they came from."""
    import warnings
    directory = find_fashion_mnist(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmbeddedDataWarning)   # said below, in the header
        X, y = load_fashion_mnist("train", path=path, dtype=np.float64)
    X, y = X[:n_samples], y[:n_samples]
    source = directory or ("the small subset embedded in fastblas (the full data: "
                           "sudo apt-get install dataset-fashion-mnist, or FASTBLAS_DATA=dir)")
    data = {dtype: (np.ascontiguousarray(X, dtype=dtype), y) for dtype in DTYPES}
    return data, source


def plot(results, path):
    """Bar chart of each contender's speed-up over the NumPy float32 reference."""
    from matplotlib.figure import Figure   # no pyplot: leaves the caller's backend alone

    fig = Figure(figsize=(6 * len(results), 4))
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, (title, contenders, seconds) in zip(axes.flat, results):
        reference = next(t for c, t in zip(contenders, seconds)
                         if c.name == "numpy reference" and c.dtype == np.float32)
        labels = [f"{c.name} {np.dtype(c.dtype).name}" for c in contenders]
        ax.barh(labels, [reference / t for t in seconds])
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel("speed-up over the NumPy float32 reference (x)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="fastblas bench train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", metavar="CONFIG",
                        help=f"configurations to run: {', '.join(CONFIGURATIONS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed epochs per contender; the median is shown (default 3)")
    parser.add_argument("--n-samples", type=int, default=60000,
                        help="training images per epoch (default: all 60000)")
    parser.add_argument("--threads",
                        help="comma-separated BLAS thread counts to time (default: 1 and all "
                             "cores when threadpoolctl is installed); 'default' leaves the "
                             "BLAS alone")
    parser.add_argument("--data", metavar="DIR", help="directory holding the Fashion-MNIST IDX files")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 500 images, one round, default threads")
    parser.add_argument("--markdown", action="store_true",
                        help="print the tables as Markdown (for the README)")
    parser.add_argument("--plot", metavar="FILE.png", help="also write a bar chart of the speed-ups")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.configs) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(CONFIGURATIONS)}")
    if args.repeat < 1 or args.n_samples < 1:
        parser.error("--repeat and --n-samples must be positive")
    if args.quick:
        args.n_samples, args.repeat, args.threads = min(args.n_samples, 500), 1, "default"
    if args.threads is None:
        if _importable("threadpoolctl") is None:
            print("(threadpoolctl is not installed: timing with the BLAS's default threads; "
                  "pip install threadpoolctl for 1-thread and all-core figures)")
            args.threads = "default"
        else:
            args.threads = ",".join(map(str, sorted({1, os.cpu_count() or 1})))
    if args.threads == "default":
        args.threads = [None]
    else:
        try:
            args.threads = [int(t) for t in args.threads.split(",")]
        except ValueError:
            parser.error(f"--threads: expected numbers like 1,2, got {args.threads!r}")
        if _importable("threadpoolctl") is None:
            parser.error("--threads needs threadpoolctl (pip install threadpoolctl), "
                         "or use --threads default")
    if args.plot and _importable("matplotlib") is None:
        parser.error('--plot needs matplotlib: pip install "fastblas[plot]"')
    return args


def main(argv=None):
    args = parse_args(argv)
    data, source = load_data(args.data, args.n_samples)
    n_samples = data[np.float32][0].shape[0]
    print(f"one training epoch over {n_samples} Fashion-MNIST images from {source}")
    print(f"median of {args.repeat} epoch(s), contenders interleaved; Python "
          f"{platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores")
    results = []
    for name in args.configs or CONFIGURATIONS:
        config = CONFIGURATIONS[name]()
        for threads in args.threads:
            label = "default threads" if threads is None else f"{threads} BLAS thread(s)"
            print(f"\n{config.description}; {label}")
            with thread_limit(threads):
                seconds = time_epochs(config.contenders, data, args.repeat,
                                      warmup_samples=min(n_samples, 200))
            print(format_table(HEADERS, result_rows(config.contenders, seconds, n_samples),
                               args.markdown))
            results.append((f"{config.name}, {label}", config.contenders, seconds))
    if args.plot:
        plot(results, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
