"""One training epoch over Fashion-MNIST: fastblas against the alternatives.

Each configuration is a recipe of ``fastblas._recipes`` (model, parameters,
data). Every contender builds a warm model of it (initialised by one untimed
minibatch), then the contenders train one epoch each, interleaved in one
process, for ``repeat`` rounds, with a short untimed pause before each epoch so
that none pays for the threads another left spinning: the table shows the
median epoch and its spread. Every model is timed the same way, as an epoch
of a warm model: ``partial_fit`` over the epoch (the MLPs), ``partial_fit`` per
minibatch (the RBMs, whose ``partial_fit`` is one update), ``epoch`` (the NumPy
references), a loop of optimizer steps (PyTorch).

Contenders, when installed: the NumPy references (``references.py``),
fastblas.nn, scikit-learn, PyTorch and JAX (MLPs, CPU), and the "gemm floor":
the epoch's matrix products alone, into preallocated outputs, through
``fastblas.gemm`` (SciPy's BLAS, the one fastblas's loops call): the bound for
fastblas's epoch. "gemm floor, NumPy's BLAS" makes the same products with
``np.matmul(..., out=)`` through NumPy's own OpenBLAS build.

A second table per configuration compares BLAS thread counts for fastblas
(float32): 1 and 2 threads, the automatic choice when the estimators have
``n_threads``, and two models trained at once on two Python threads (as joblib's
threading backend runs them, one BLAS thread each) against the same two epochs
one after the other; then two gemm floors the same way: the same products
called from Python loops, which take the GIL between products.

Run as ``fastblas bench train`` or ``python -m fastblas.benchmarks.bench_train``.
"""
import argparse
import contextlib
import dataclasses
import importlib
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastblas import _recipes
from fastblas.cli import _options

if __package__:
    from . import _timing, references
else:  # run as a file: this folder is sys.path[0]
    import _timing
    import references

N_CLASSES = 10
DTYPES = ("float32", "float64")
CONFIGURATIONS = ("rbm", "rbm-sklearn", "mlp", "mlp-adam", "mlp-sklearn", "mlp-lbfgs")
# Not an epoch but a whole fit, so not a recipe of the CLI: scikit-learn's
# default MLP and its default max_iter, trained by L-BFGS.
LBFGS_RECIPE = _recipes.Recipe(
    "mlp-lbfgs", "mlp",
    dict(hidden_layer_sizes=(100,), activation="relu", solver="lbfgs", alpha=1e-4),
    "MLPClassifier, relu, alpha 1e-4, L-BFGS (scipy's L-BFGS-B), 200 iterations")
LBFGS_ITERATIONS = 200
LBFGS_SAMPLES = 10000       # at most: a whole fit is some 200 epochs' products
QUICK_SAMPLES = 500


def _importable(module):
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _fastblas_takes(model, parameter):
    """Whether fastblas.nn's estimator of ``model`` takes ``parameter``."""
    try:
        return parameter in _recipes.make_estimator(
            _recipes.RECIPES[model], "fastblas").get_params()
    except ImportError:
        return False


def _fastblas_has_n_threads(model):
    """Whether fastblas.nn's estimator takes ``n_threads`` (None: its own choice)."""
    return _fastblas_takes(model, "n_threads")


# ---------------------------------------------------------------- epochs
#
# An epoch runner is built as Runner(recipe, X, y, **options) -- building the
# model and its state is untimed -- and trains one epoch over (X, y) per call.

class ReferenceEpoch:
    """The NumPy reference model: ``epoch`` over the data."""
    library = "numpy"

    def __init__(self, recipe, X, y):
        self.model = _recipes.make_estimator(recipe, "numpy", dtype=X.dtype)
        self.args = (X,) if recipe.model == "rbm" else (X, y)
        head = slice(0, recipe.batch_size)
        self.model.epoch(*(a[head] for a in self.args))    # initialise: one minibatch

    @classmethod
    def supports(cls, recipe):
        return _recipes.supports(recipe, "numpy")

    def __call__(self):
        self.model.epoch(*self.args)


class EstimatorEpoch:
    """A scikit-learn style estimator of ``library``, warm.

    The MLPs' ``partial_fit`` is an epoch in minibatches. An RBM with
    ``warm_start`` trains its epoch by ``fit``, else by ``partial_fit`` per
    minibatch (its ``partial_fit`` is one update), which validates its input
    on every call as scikit-learn's does.
    """
    library = None

    def __init__(self, recipe, X, y, **params):
        self.rbm = recipe.model == "rbm"
        self.warm_start = self.rbm and self._takes_warm_start(recipe)
        if self.warm_start:
            params["warm_start"] = True
        self.model = _recipes.make_estimator(recipe, self.library, dtype=X.dtype, **params)
        self.X, self.y = X, y
        self.classes = np.arange(N_CLASSES)
        self.batches = references.minibatches(len(X), recipe.batch_size)
        first = self.batches[0]
        if self.rbm:
            self.model.partial_fit(X[first])
        else:
            self.model.partial_fit(X[first], y[first], classes=self.classes)

    def _takes_warm_start(self, recipe):
        return False

    @classmethod
    def supports(cls, recipe):
        return True

    def __call__(self):
        if self.warm_start:
            self.model.fit(self.X)
        elif self.rbm:
            for batch in self.batches:
                self.model.partial_fit(self.X[batch])
        else:
            self.model.partial_fit(self.X, self.y, classes=self.classes)


class FastblasEpoch(EstimatorEpoch):
    library = "fastblas"

    def _takes_warm_start(self, recipe):
        return True         # fastblas's RBM has warm_start


class SklearnEpoch(EstimatorEpoch):
    library = "sklearn"


class TorchEpoch:
    """The same MLP in PyTorch (CPU), with PyTorch's default initialisation: the same
    steps for the recipes without weight penalty or shuffling."""

    def __init__(self, recipe, X, y):
        import torch
        params = recipe.params
        Xt, self.yt = torch.from_numpy(X), torch.from_numpy(y)
        self.Xt = Xt
        torch.manual_seed(0)
        activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[params["activation"]]
        sizes = [X.shape[1], *recipe.hidden_units]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(fan_in, fan_out), activation()]
        self.model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], N_CLASSES)
                                         ).to(Xt.dtype)
        if params["solver"] == "sgd":
            self.optimizer = torch.optim.SGD(self.model.parameters(),
                                             lr=params["learning_rate_init"])
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(),
                                              lr=params["learning_rate_init"])
        self.loss = torch.nn.CrossEntropyLoss()
        self.batches = references.minibatches(len(X), recipe.batch_size)

    @classmethod
    def supports(cls, recipe):
        return _recipes.supports(recipe, "numpy") and recipe.model == "mlp"

    def __call__(self):
        for batch in self.batches:
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(self.Xt[batch]), self.yt[batch]).backward()
            self.optimizer.step()


class JaxEpoch:
    """The same MLP in JAX: ``jax_reference.make_epoch``, a jitted train step scanned
    over the epoch, compiled for X's shape when built (untimed; its
    ``compile_seconds`` kept). With the recipe's ``shuffle``, each epoch takes its
    rows in a new order, drawn as fastblas's and scikit-learn's are (a
    permutation per epoch from NumPy's Generator; it goes to JAX inside the timed
    epoch). XLA runs its own CPU threads, which the BLAS thread limits do not reach."""

    def __init__(self, recipe, X, y):
        p = recipe.params
        (hidden,) = recipe.hidden_units
        self.shuffle = p.get("shuffle", True)
        self.epoch, self.compile_seconds = _jax_reference().make_epoch(
            hidden, p["activation"], p["solver"], p["batch_size"], p["learning_rate_init"],
            X.dtype, 0, alpha=p.get("alpha", 1e-4), shuffle=self.shuffle,
            n_samples=X.shape[0], n_features=X.shape[1], n_classes=N_CLASSES)
        self.X, self.y = X, y
        self.rng = np.random.default_rng(0)
        self()      # copies (X, y) to JAX arrays once, untimed

    @classmethod
    def supports(cls, recipe):
        """The NumPy reference's MLPs, and also with a weight penalty or shuffling."""
        p = recipe.params
        return (recipe.model == "mlp" and len(recipe.hidden_units) == 1
                and p["activation"] in ("tanh", "relu") and p["solver"] in ("sgd", "adam")
                and (p["solver"] == "adam" or p.get("momentum", 0.9) == 0)
                and _jax_reference() is not None)

    def __call__(self):
        order = self.rng.permutation(len(self.X)) if self.shuffle else None
        self.epoch(self.X, self.y, order)


def _jax_reference():
    """``jax_reference`` beside this module when it and JAX import, else None."""
    if not _importable("jax"):
        return None
    try:
        return importlib.import_module(
            f"{__package__}.jax_reference" if __package__ else "jax_reference")
    except ImportError:
        return None


class GemmFloor:
    """The matrix products of one epoch alone, into preallocated outputs, through
    ``fastblas.gemm`` (``library = "fastblas"``) or ``np.matmul`` (``"numpy"``).

    RBM, per minibatch v0 (CD-1 and PCD-1 alike): v0 W, h W', v1 W, and the two
    gradient products fused into one with k = 2 batch. MLP: a forward product
    per layer, and per layer the weight gradient and (but the first) the delta.
    """
    library = "fastblas"

    def __init__(self, recipe, X, y):
        if self.library == "numpy":
            self.matmul = lambda a, b, out: np.matmul(a, b, out=out)
        else:
            import fastblas
            self.matmul = lambda a, b, out: fastblas.gemm(1.0, a, b, 0.0, out)
        self.X = X
        self.batch = recipe.batch_size
        self.batches = references.minibatches(len(X), self.batch)
        self.rbm = recipe.model == "rbm"
        sizes = [X.shape[1], *recipe.hidden_units] + ([] if self.rbm else [N_CLASSES])
        # Only the shapes matter, not the values; but the weights must be written
        # memory, as a model's are: untouched np.zeros pages all map to one shared
        # zero page, which stays in cache and makes the floor 6-9% too fast.
        rng = np.random.default_rng(0)
        self.weights = [rng.standard_normal((a, b)).astype(X.dtype)
                        for a, b in zip(sizes[:-1], sizes[1:])]
        self.grads = [np.zeros_like(w) for w in self.weights]
        if self.rbm:
            self.hidden = np.zeros((2, self.batch, sizes[1]), X.dtype)     # h0 and p_h1
            self.visible = np.zeros((2 * self.batch, sizes[0]), X.dtype)   # v0 and v1
        else:
            self.activations = [np.zeros((self.batch, n), X.dtype) for n in sizes[1:]]
            self.deltas = [np.zeros_like(a) for a in self.activations]

    @classmethod
    def supports(cls, recipe):
        return True

    def __call__(self):
        step = self._rbm_products if self.rbm else self._mlp_products
        for batch in self.batches:
            step(self.X[batch])

    def _rbm_products(self, v0):
        matmul, W, m = self.matmul, self.weights[0], len(v0)
        hidden, visible = self.hidden[:, :m], self.visible[:2 * m]
        matmul(v0, W, hidden[0])                          # v0 -> h0
        matmul(hidden[0], W.T, visible[m:])               # h0 -> v1
        matmul(visible[m:], W, hidden[1])                 # v1 -> p_h1
        matmul(visible.T, hidden.reshape(2 * m, -1), self.grads[0])   # both gradients

    def _mlp_products(self, Xb):
        matmul, m = self.matmul, len(Xb)
        inputs = [Xb] + [a[:m] for a in self.activations[:-1]]
        for x, W, out in zip(inputs, self.weights, self.activations):
            matmul(x, W, out[:m])
        for i in reversed(range(len(self.weights))):
            matmul(inputs[i].T, self.deltas[i][:m], self.grads[i])
            if i > 0:
                matmul(self.deltas[i][:m], self.weights[i].T, self.deltas[i - 1][:m])


class NumpyGemmFloor(GemmFloor):
    library = "numpy"


@dataclasses.dataclass(frozen=True)
class Contender:
    name: str
    runner: type
    role: str = ""              # "numpy", "sklearn" or "floor": the ratios' baselines
    requires: str = "numpy"     # a module that must import

    def available(self, recipe):
        return _importable(self.requires) and self.runner.supports(recipe)


CONTENDERS = [
    Contender("numpy reference", ReferenceEpoch, role="numpy"),
    Contender("fastblas", FastblasEpoch, requires="sklearn"),
    Contender("scikit-learn", SklearnEpoch, role="sklearn", requires="sklearn"),
    Contender("pytorch (cpu)", TorchEpoch, requires="torch"),
    Contender("jax (cpu, XLA threads)", JaxEpoch, requires="jax"),
    Contender("gemm floor", GemmFloor, role="floor"),
    Contender("gemm floor, NumPy's BLAS", NumpyGemmFloor),
]


# ---------------------------------------------------------------- L-BFGS

@contextlib.contextmanager
def counting_minimize(counts):
    """Record each ``scipy.optimize.minimize`` call's function evaluations and
    iterations in ``counts`` (``nfev``, ``nit``): scikit-learn's and fastblas's
    L-BFGS fits call it through the module attribute."""
    import scipy.optimize
    minimize = scipy.optimize.minimize

    def counted(*args, **kwargs):
        result = minimize(*args, **kwargs)
        counts.update(nfev=result.nfev, nit=result.nit)
        return result

    scipy.optimize.minimize = counted
    try:
        yield counts
    finally:
        scipy.optimize.minimize = minimize


def glorot_weights(layer_units, seed=0):
    """scikit-learn's initialisation of a relu MLP (Glorot uniform, float64) from
    ``default_rng(seed)``: coefficients, then intercepts."""
    rng = np.random.default_rng(seed)
    bounds = [np.sqrt(6 / (a + b)) for a, b in zip(layer_units, layer_units[1:])]
    coefs = [rng.uniform(-bound, bound, (a, b))
             for bound, a, b in zip(bounds, layer_units, layer_units[1:])]
    intercepts = [rng.uniform(-bound, bound, b) for bound, b in zip(bounds, layer_units[1:])]
    return coefs, intercepts


@contextlib.contextmanager
def _without_convergence_warnings():
    """The fits stop at max_iter, as timed fits should: no warning about it."""
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class LbfgsFit:
    """A whole L-BFGS fit of ``library``'s MLPClassifier, every call from the same
    initial weights (``glorot_weights``, rounded to X's dtype), so that the
    libraries' fits can be compared: their time, function evaluations,
    iterations and final loss (kept as ``counts`` and ``loss``)."""

    def __init__(self, library, recipe, X, y, max_iter=LBFGS_ITERATIONS, **params):
        self.model = _recipes.make_estimator(recipe, library, epochs=1, dtype=X.dtype,
                                             warm_start=True, **params)
        self.X, self.y = X, y
        with _without_convergence_warnings():
            self.model.fit(X, y)        # one iteration, untimed: the fitted state
        self.model.set_params(max_iter=max_iter)
        units = [X.shape[1], *recipe.hidden_units, N_CLASSES]
        coefs, intercepts = glorot_weights(units)
        self.initial = ([w.astype(X.dtype) for w in coefs],
                        [b.astype(X.dtype) for b in intercepts])
        self.counts, self.loss = {}, None

    def __call__(self):
        self.model.coefs_ = [w.copy() for w in self.initial[0]]
        self.model.intercepts_ = [b.copy() for b in self.initial[1]]
        with _without_convergence_warnings(), counting_minimize(self.counts):
            self.model.fit(self.X, self.y)
        self.loss = self.model.loss_


LBFGS_HEADERS = ["contender", "dtype", "fit s", "iterations", "evaluations",
                 "ms / evaluation", "x gemm floor", "speed-up vs scikit-learn",
                 "final loss", "loss vs scikit-learn"]


def lbfgs_rows(recipe, X_by_dtype, threads):
    """{(contender, dtype): runner}: fastblas's and scikit-learn's fits, and the
    products of one evaluation (the whole set's forward and backward products
    through ``fastblas.gemm``), per dtype."""
    rows = {}
    for dtype, (X, y) in X_by_dtype.items():
        rows[("fastblas", dtype)] = LbfgsFit("fastblas", recipe, X, y, n_threads=threads)
        rows[("scikit-learn", dtype)] = LbfgsFit("sklearn", recipe, X, y)
        rows[("gemm floor, one evaluation", dtype)] = GemmFloor(
            recipe.with_params(batch_size=len(X)), X, y)
    return rows


def lbfgs_table(timed, runners, markdown=False):
    """Time per fit and per function evaluation (the fit's time over its
    evaluations, scipy's L-BFGS-B work included), the evaluation and iteration
    counts, and the final loss, each against scikit-learn's of the same dtype."""
    rows = []
    for (name, dtype), t in timed.items():
        sklearn = runners[("scikit-learn", dtype)]
        floor = timed[("gemm floor, one evaluation", dtype)]
        runner = runners[(name, dtype)]
        if isinstance(runner, GemmFloor):
            rows.append([name, dtype, "-", "-", "1", _timing.format_timing(t, 1e3),
                         "1.00x", "-", "-", "-"])
            continue
        per_evaluation = t / runner.counts["nfev"]
        rows.append([name, dtype, _timing.format_timing(t), str(runner.counts["nit"]),
                     str(runner.counts["nfev"]), f"{per_evaluation * 1e3:.3g}",
                     f"{per_evaluation / floor:.2f}x",
                     f"{timed[('scikit-learn', dtype)] / t:.2f}x", f"{runner.loss:.6g}",
                     f"{100 * (runner.loss / sklearn.loss - 1):+.2f}%"])
    return _timing.format_table(LBFGS_HEADERS, rows, markdown, left=2)


def run_lbfgs(data, args):
    """The L-BFGS table of each thread count: whole fits, interleaved."""
    recipe = LBFGS_RECIPE
    data = {dtype: (X[:LBFGS_SAMPLES], y[:LBFGS_SAMPLES]) for dtype, (X, y) in data.items()}
    n_samples = len(data["float32"][0])
    title = f"{recipe.name} ({recipe.layers()}): {recipe.description}"
    tables = []
    for threads in args.threads:
        label = f"{threads} BLAS thread{'s' if threads > 1 else ''}"
        print(f"\n{recipe.layers()} {recipe.description}, {n_samples} images; {label}")
        with _blas_limit(threads):
            runners = lbfgs_rows(recipe, data, threads)
            timed = _timing.time_interleaved(runners, repeat=args.repeat, loops=1)
        print(lbfgs_table(timed, runners, args.markdown))
        _print_spread_warning({f"{c} {d}": t for (c, d), t in timed.items()})
        tables.append(dict(
            kind="lbfgs", config=recipe.name, threads=threads, title=f"{title}; {label}",
            n_samples=n_samples, markdown=lbfgs_table(timed, runners, markdown=True),
            rows=[dict(contender=c, dtype=d, seconds=t, loss=runners[(c, d)].loss,
                       evaluations=runners[(c, d)].counts.get("nfev", 1),
                       iterations=runners[(c, d)].counts.get("nit"))
                  if isinstance(runners[(c, d)], LbfgsFit)
                  else dict(contender=c, dtype=d, seconds=t, evaluations=1)
                  for (c, d), t in timed.items()]))
    return tables


# ---------------------------------------------------------------- timing

@contextlib.contextmanager
def torch_threads(threads):
    """Cap PyTorch's own thread pool too (threadpoolctl caps the BLAS pools)."""
    if threads is None or not _importable("torch"):
        yield
        return
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _blas_limit(threads):
    """A context manager capping the BLAS pools at ``threads`` (None: as they are)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads, user_api="blas")


class WithThreads:
    """``runner()`` with the BLAS (and PyTorch) pools capped at ``threads`` for the call."""

    def __init__(self, runner, threads):
        self.runner, self.threads = runner, threads

    def __call__(self):
        with _blas_limit(self.threads), torch_threads(self.threads):
            self.runner()


class TwoModels:
    """Two warm models: one epoch of each, one after the other or on two Python
    threads at once, one BLAS thread each. Two gemm floors the same way time
    the same products called from Python loops, which take the GIL between
    products (the epochs run without it).

    The two threads are a pool started once, untimed, as GridSearchCV's joblib
    pool is started once for all its fits. A joblib ``Parallel`` call per pair of
    epochs would add its own fixed cost to each (some 12 ms here with joblib 1.6,
    against 0.1 s epochs), a cost a search pays once, not per fit.
    """

    def __init__(self, first, second, parallel):
        self.runners = (first, second)
        self.pool = ThreadPoolExecutor(max_workers=2) if parallel else None

    def __call__(self):
        with _blas_limit(1):
            if self.pool is not None:
                for done in [self.pool.submit(r) for r in self.runners]:
                    done.result()
            else:
                for runner in self.runners:
                    runner()


def _warm_up(build, X, y, n_samples):
    """Seconds to build a runner on the first ``n_samples`` rows and train it one epoch:
    first-call costs (imports, thread pools, compilation) that the timed epochs skip."""
    start = time.perf_counter()
    build(X[:n_samples], y[:n_samples])()
    return time.perf_counter() - start


# After a product, OpenBLAS's worker threads spin before they sleep (about 0.1 s
# here), and so do XLA's and PyTorch's. The row timed next paid for them: under
# --busy the automatic choice (1 thread, the next row in the rotation) timed
# 0.6-0.9x as fast as 1 thread, although each of its fits chose 1 thread and,
# timed alone, ran as fast; on a quiet machine, fastblas's 2-thread epoch of the
# 784-500-10 MLP timed 0.29 s interleaved with JAX and NumPy's BLAS, against 0.18 s
# in a process of its own.
PAUSE = 0.3


def time_rows(rows, data, repeat, warmup_samples):
    """Time ``rows``, a dict mapping a label to ``(dtype, build)`` where
    ``build(X, y)`` makes an epoch runner; returns {label: (Timing, warm-up s)}
    and the runners timed, {label: runner}. The rows are interleaved with
    pauses (``_timing.interleaved_with_pauses``)."""
    warmups, runners = {}, {}
    for label, (dtype, build) in rows.items():
        X, y = data[dtype]
        warmups[label] = _warm_up(build, X, y, warmup_samples)
        runners[label] = build(X, y)
    timings = _timing.interleaved_with_pauses(runners, repeat, PAUSE)
    return {label: (timings[label], warmups[label]) for label in rows}, runners


def _fastblas_threads(recipe, threads):
    """fastblas's ``n_threads`` option at a BLAS thread count, when it has one."""
    return {"n_threads": threads} if _fastblas_has_n_threads(recipe.model) else {}


def comparison_rows(recipe, threads):
    """Every available contender in both dtypes, at ``threads`` BLAS threads."""
    rows = {}
    for contender in CONTENDERS:
        if not contender.available(recipe):
            continue
        options = _fastblas_threads(recipe, threads) if contender.runner is FastblasEpoch else {}
        for dtype in DTYPES:
            rows[(contender.name, dtype)] = (
                dtype, lambda X, y, c=contender, o=options: c.runner(recipe, X, y, **o))
    return rows


def thread_rows(recipe, cores):
    """fastblas float32 at 1 and ``cores`` (the usable cores) BLAS threads, its own
    choice when it has ``n_threads``, and two models (then two gemm floors: their
    products from Python loops) one after the other against two at once."""
    has_n_threads = _fastblas_has_n_threads(recipe.model)
    epoch = FastblasEpoch
    rows = {}
    for threads in sorted({1, cores}):
        label = f"fastblas, {threads} BLAS thread{'s' if threads > 1 else ''}"
        if has_n_threads:
            # the fit's own thread scope, as the automatic row's: an extra
            # threadpool_limits per epoch costs milliseconds (it lists the loaded
            # libraries), which made these rows 5-15% slower than the automatic one
            rows[label] = ("float32",
                           lambda X, y, t=threads: epoch(recipe, X, y, n_threads=t))
        else:
            rows[label] = ("float32",
                           lambda X, y, t=threads: WithThreads(epoch(recipe, X, y), t))
    if has_n_threads:
        rows[AUTOMATIC] = (
            "float32", lambda X, y: epoch(recipe, X, y, n_threads=None))
    if cores >= 2:
        options = {"n_threads": 1} if has_n_threads else {}
        for parallel, label in ((False, SEQUENTIAL), (True, PARALLEL)):
            rows[label] = ("float32", lambda X, y, p=parallel: TwoModels(
                epoch(recipe, X, y, **options), epoch(recipe, X, y, **options), p))
        for parallel, label in ((False, FLOORS_SEQUENTIAL), (True, FLOORS_PARALLEL)):
            rows[label] = ("float32", lambda X, y, p=parallel: TwoModels(
                GemmFloor(recipe, X, y), GemmFloor(recipe, X, y), p))
    return rows


AUTOMATIC = "fastblas, automatic (n_threads=None)"
SEQUENTIAL = "2 models, one after the other (1 BLAS thread)"
PARALLEL = "2 models on 2 Python threads (1 BLAS thread each)"
FLOORS_SEQUENTIAL = "2 gemm floors, one after the other (1 BLAS thread)"
FLOORS_PARALLEL = "2 gemm floors on 2 Python threads (1 BLAS thread each)"
PAIRS = (SEQUENTIAL, PARALLEL, FLOORS_SEQUENTIAL, FLOORS_PARALLEL)


# ---------------------------------------------------------------- tables

COMPARISON_HEADERS = ["contender", "dtype", "epoch s", "samples/s", "speed-up vs numpy",
                      "vs scikit-learn", "x gemm floor", "warm-up s"]
THREAD_HEADERS = ["float32", "epoch s", "samples/s", "vs 1 thread", "warm-up s"]


def comparison_table(timed, n_samples, markdown=False):
    """Rows of a comparison: time, samples/s, speed-ups over the NumPy reference and
    scikit-learn and distance to the gemm floor, each against the same dtype."""
    roles = {c.name: c.role for c in CONTENDERS}

    def baseline(role, dtype):
        return next((t for (name, d), (t, _) in timed.items()
                     if roles[name] == role and d == dtype), None)

    rows = []
    for (name, dtype), (t, warmup) in timed.items():
        numpy_t, sklearn_t, floor_t = (baseline(role, dtype)
                                       for role in ("numpy", "sklearn", "floor"))
        rows.append([name, dtype, _timing.format_timing(t), f"{n_samples / t:,.0f}",
                     f"{numpy_t / t:.2f}x" if numpy_t else "-",
                     f"{sklearn_t / t:.2f}x" if sklearn_t else "-",
                     f"{t / floor_t:.2f}x" if floor_t else "-",
                     _timing.format_significant(warmup)])
    return _timing.format_table(COMPARISON_HEADERS, rows, markdown, left=2)


def chosen_threads(runners):
    """The BLAS thread count fastblas's automatic row chose (its model's
    ``n_threads_``), or None when there is no such row."""
    return runners[AUTOMATIC].model.n_threads_ if AUTOMATIC in runners else None


def thread_table(timed, chosen, n_samples, markdown=False):
    """The thread rows; the automatic one names the count it chose (``chosen``)."""
    one_thread = timed["fastblas, 1 BLAS thread"][0]
    rows = []
    for label, (t, warmup) in timed.items():
        # Two models train 2 epochs' worth of samples per call.
        samples = 2 * n_samples if label in PAIRS else n_samples
        if label == AUTOMATIC:
            label += f": {chosen} thread{'s' if chosen > 1 else ''}"
        rows.append([label, _timing.format_timing(t), f"{samples / t:,.0f}",
                     f"{one_thread / t:.2f}x" if samples == n_samples else "-",
                     _timing.format_significant(warmup)])
    table = _timing.format_table(THREAD_HEADERS, rows, markdown)
    if PARALLEL in timed:
        speedup = timed[SEQUENTIAL][0] / timed[PARALLEL][0]
        table += (f"\n\n2 models on 2 Python threads: {speedup:.2f}x the speed of the same "
                  "2 epochs one after the other")
    if FLOORS_PARALLEL in timed:
        speedup = timed[FLOORS_SEQUENTIAL][0] / timed[FLOORS_PARALLEL][0]
        table += f"; their products from Python loops (2 gemm floors): {speedup:.2f}x"
    return table


# ---------------------------------------------------------------- plot

def plot(tables, path):
    """A grid of bar charts, one per table, at most 3 across (1600 px wide): each
    contender's speed-up over the NumPy reference of its dtype (else scikit-learn's),
    the gemm floors left to the tables; fastblas's speed-up over 1 BLAS thread.
    The L-BFGS tables (whole fits, not epochs) are left to the tables too."""
    import textwrap

    from matplotlib.figure import Figure   # no pyplot: leaves the caller's backend alone

    tables = [t for t in tables if t["kind"] != "lbfgs"]
    if not tables:
        return False
    ncols = min(3, len(tables))
    nrows = -(-len(tables) // ncols)
    fig = Figure(figsize=(16 / 3 * ncols, 3.4 * nrows + 0.6), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax, table in zip(axes, tables):
        labels, speedups, colours, baseline_name = _speedups(table)
        bars = ax.barh(labels, speedups, color=colours)
        ax.bar_label(bars, [f"{s:.2f}x" for s in speedups], padding=2, fontsize="x-small")
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize="small")
        ax.set_xlim(0, 1.25 * max(speedups + [1.0]))
        ax.set_title("\n".join(textwrap.wrap(table["title"], 60)), fontsize="small")
        ax.set_xlabel(f"speed-up over {baseline_name} (x)", fontsize="small")
    for ax in axes[len(tables):]:
        ax.set_visible(False)
    fig.suptitle(f"One training epoch over {tables[0]['n_samples']} Fashion-MNIST images: "
                 "speed-ups of the median epochs (blue float32, orange float64; "
                 "above 1x: faster)")
    fig.savefig(path, dpi=100)
    return True


def _speedups(table):
    """Bar labels, speed-ups, colours, and what the speed-ups are measured against."""
    rows = table["rows"]
    if table["kind"] == "threads":
        # per model-epoch, so that two models at once compare with one model
        per_epoch = [r["seconds"] / (2 if r["label"] in PAIRS else 1) for r in rows]
        return ([r["label"].replace(" (", "\n(") for r in rows],
                [per_epoch[0] / t for t in per_epoch], ["tab:blue"] * len(rows),
                "fastblas on 1 BLAS thread, per model")
    roles = {c.name: c.role for c in CONTENDERS}
    rows = [r for r in rows if roles[r["contender"]] != "floor"
            and "floor" not in r["contender"]]
    for role, name in (("numpy", "the NumPy reference"), ("sklearn", "scikit-learn")):
        baselines = {r["dtype"]: r["seconds"] for r in rows if roles[r["contender"]] == role}
        if baselines:
            break
    return ([f"{r['contender']} {r['dtype']}" for r in rows],
            [baselines[r["dtype"]] / r["seconds"] for r in rows],
            ["tab:blue" if r["dtype"] == "float32" else "tab:orange" for r in rows],
            f"{name}, same dtype")


# ---------------------------------------------------------------- command line

DESCRIPTION = f"""\
Time one training epoch over Fashion-MNIST: fastblas against the NumPy
reference implementations, scikit-learn, PyTorch and JAX (when installed), and
the epoch's matrix products alone (the gemm floor).

Configurations (default: all):
  rbm          Bernoulli RBM 784-500, CD-1, momentum 0.9, lr 0.1, minibatch 100
  rbm-sklearn  Bernoulli RBM with scikit-learn's defaults: 784-256, PCD-1, minibatch 10
  mlp          MLP 784-500-10, tanh, plain SGD lr 0.1, minibatch 100
  mlp-adam     MLP 784-100-10, relu, Adam lr 0.001, minibatch 32
  mlp-sklearn  MLPClassifier with scikit-learn's defaults: 784-100-10, relu, Adam,
               alpha 1e-4, minibatch 200, shuffled
  mlp-lbfgs    the same MLP trained by L-BFGS (200 iterations) on at most 10000
               images: whole fits from the same initial weights

Every contender trains a warm model one epoch per round, the contenders
interleaved, each epoch after a {PAUSE} s pause (so that none pays for the
threads the previous one left spinning); each table shows the median epoch with
its spread, the speed-up over the NumPy reference and over scikit-learn (same
dtype), and the distance to the gemm floor. fastblas's RBM trains its epoch by
fit with warm_start; scikit-learn's, which has no warm_start, by partial_fit
per minibatch, which validates its input on every call. A second table per
configuration compares fastblas's BLAS thread counts, and 2 models (then 2 gemm
floors: their products from Python loops) trained at once on 2 threads against
the same 2 one after the other.
mlp-lbfgs times whole fits instead, fastblas's and scikit-learn's from the same
initial weights: the time per function evaluation and the number of
evaluations, separately, and the final loss."""

EPILOG = """\
Each time is the median of the rounds, with the interquartile range as a % of
it; a warning names the rows whose spread exceeds 20% and says when the
machine is busier than its cores. Warm-up is one epoch over the first images on
a fresh model (first-call costs, compilation): reported, not counted."""


def build_parser(prog="fastblas bench train"):
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", metavar="CONFIG",
                        help=f"configurations to run: {', '.join(CONFIGURATIONS)} "
                             "(default: all)")
    parser.add_argument("--repeat", type=_timing.positive_int, default=3,
                        help="timed epochs per contender; the median is shown (default 3)")
    parser.add_argument("--n-samples", type=_timing.positive_int, default=60000,
                        help="training images per epoch (default: all 60000)")
    parser.add_argument("--threads", type=_timing.parse_int_list,
                        help="BLAS thread counts of the comparison tables, e.g. 1,2 "
                             "(default: 1 and the usable cores)")
    _options.add_data(parser)
    parser.add_argument("--busy", action="store_true",
                        help="run a CPU hog process (a busy loop) for the whole run, to "
                             "time a machine whose other core is busy")
    parser.add_argument("--no-thread-table", action="store_true",
                        help="skip the tables of fastblas's thread counts")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke test: {QUICK_SAMPLES} images, one round, 1 BLAS "
                             "thread, no thread tables")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also write a grid of bar charts of the speed-ups (needs "
                             "matplotlib)")
    _timing.add_results_option(parser, "train.json and train.md (for some configurations "
                                       "only: train-CONFIG+CONFIG.json and .md; with "
                                       "--busy, -busy added to the name)")
    return parser


def parse_args(argv, prog):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.configs) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(CONFIGURATIONS)}")
    if args.threads is not None and min(args.threads, default=0) < 1:
        parser.error("--threads: expected thread counts of at least 1")
    _timing.require_matplotlib(parser, args.plot)
    _timing.check_output_directory(parser, "--plot", args.plot)
    if args.quick:
        args.n_samples, args.repeat = min(args.n_samples, QUICK_SAMPLES), 1
        args.threads = args.threads or [1]
        args.no_thread_table = True
    args.threads = args.threads or sorted({1, _timing.usable_cores()})
    return args


def load_data(path, n_samples):
    """{dtype name: (X, y)} of the first ``n_samples`` training images, and their source."""
    try:
        data = _recipes.load_data(path, n_train=n_samples, n_test=0, dtype=np.float64)
    except (OSError, ValueError) as exc:     # missing, truncated or corrupt files
        raise SystemExit(f"cannot load Fashion-MNIST: {exc}") from exc
    return ({dtype: (np.ascontiguousarray(data.X_train, dtype=dtype), data.y_train)
             for dtype in DTYPES}, data.source)


@contextlib.contextmanager
def cpu_hog(enabled):
    """A busy-loop process (the ``Popen``) for the duration of the block, when
    ``enabled`` (else None)."""
    if not enabled:
        yield None
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    print(f"--busy: a CPU hog (process {hog.pid}) runs for the whole benchmark")
    try:
        yield hog
    finally:
        hog.terminate()
        hog.wait()


def run_configuration(name, data, args):
    """The comparison tables (one per thread count) and the thread table of ``name``."""
    recipe = _recipes.RECIPES[name]
    n_samples = len(data["float32"][0])
    warmup = min(n_samples, 10 * recipe.batch_size)
    title = f"{name} ({recipe.layers()}): {recipe.description}"
    tables = []
    for threads in args.threads:
        label = f"{threads} BLAS thread{'s' if threads > 1 else ''}"
        print(f"\n{recipe.layers()} {recipe.description}; {label}")
        with _blas_limit(threads), torch_threads(threads):
            timed, _ = time_rows(comparison_rows(recipe, threads), data, args.repeat, warmup)
        print(comparison_table(timed, n_samples, args.markdown))
        _print_spread_warning({f"{c} {d}": t for (c, d), (t, _) in timed.items()})
        tables.append(dict(kind="comparison", config=name, threads=threads,
                           title=f"{title}; {label}", n_samples=n_samples,
                           markdown=comparison_table(timed, n_samples, markdown=True),
                           rows=[dict(contender=c, dtype=d, seconds=t, warmup_seconds=w)
                                 for (c, d), (t, w) in timed.items()]))
    if not args.no_thread_table and _importable("sklearn"):
        cores = _timing.usable_cores()
        print(f"\n{recipe.layers()} {recipe.description}; fastblas's BLAS threads")
        timed, runners = time_rows(thread_rows(recipe, cores), data, args.repeat, warmup)
        chosen = chosen_threads(runners)
        print(thread_table(timed, chosen, n_samples, args.markdown))
        _print_spread_warning({label: t for label, (t, _) in timed.items()})
        tables.append(dict(kind="threads", config=name, title=f"{title}; threads",
                           n_samples=n_samples,
                           markdown=thread_table(timed, chosen, n_samples, markdown=True),
                           rows=[dict(label=label, seconds=t, warmup_seconds=w,
                                      **({"n_threads": chosen} if label == AUTOMATIC else {}))
                                 for label, (t, w) in timed.items()]))
    return tables


def _print_spread_warning(timings):
    warning = _timing.spread_warning(timings)
    if warning:
        print(warning)


def spread_warning(tables):
    """The spread warning of the whole run, each row named by its configuration."""
    return _timing.spread_warning(
        {f"{t['config']} {t.get('threads', 'threads')}: "
         f"{r.get('label') or r['contender'] + ' ' + r['dtype']}": r["seconds"]
         for t in tables for r in t["rows"]})


def _save(directory, name, title, settings, tables, notes):
    return _timing.save_results(
        directory, name, title, settings, [(t["title"], t["markdown"]) for t in tables],
        [{k: v for k, v in t.items() if k != "markdown"} for t in tables], notes)


def results_name(configs, busy=False):
    """``train``, or ``train-mlp+rbm`` for a run of some configurations only;
    ``-busy`` added for a run with --busy."""
    chosen = [name for name in CONFIGURATIONS if name in configs]
    name = "train" if not configs or chosen == list(CONFIGURATIONS) else (
        "train-" + "+".join(chosen))
    return name + ("-busy" if busy else "")


def main(argv=None, prog="fastblas bench train"):
    args = parse_args(argv, prog)
    data, source = load_data(args.data, args.n_samples)
    n_samples = len(data["float32"][0])
    title = f"one training epoch over {n_samples} Fashion-MNIST images"
    settings = dict(repeat=args.repeat, n_samples=n_samples, threads=args.threads,
                    busy=args.busy, data=source)
    tables = []
    with cpu_hog(args.busy):
        _timing.print_header(f"{title}; data: {source}", settings,
                             "speed-up = other's epoch time / this row's")
        for name in args.configs or CONFIGURATIONS:
            if name == LBFGS_RECIPE.name:
                tables += run_lbfgs(data, args)
            else:
                tables += run_configuration(name, data, args)
            notes = [spread_warning(tables), _timing.load_warning()]
            if args.results:    # after every configuration: a long run keeps what it did
                paths = _save(args.results, results_name(args.configs, args.busy), title, settings,
                              tables, notes)
    if notes[1]:
        print(notes[1])
    if args.plot:
        if plot(tables, args.plot):
            print(f"\nplot written to {args.plot}")
        else:
            print("\nno plot: the L-BFGS tables are not plotted")
    if args.results:
        print("results written to " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
