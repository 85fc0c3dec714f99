"""A model search as users run it: scikit-learn's GridSearchCV over an MLP.

    GridSearchCV(MLPClassifier(max_iter=EPOCHS, random_state=0),
                 {"alpha": ALPHAS}, cv=2, n_jobs=...).fit(X, y)

on Fashion-MNIST images: every candidate is fitted on each half of the data and
scored on the other (predict included), the best refitted on all of it. The
searches run scikit-learn's MLPClassifier or fastblas.nn's:

- one job at a time (``n_jobs=1``); fastblas both with its automatic choice of
  BLAS threads and with ``n_threads=1``;
- two jobs at a time (``n_jobs=2``) under joblib's default backend (loky: worker
  processes, started once and reused, the data copied to them) and under its
  threading backend (fastblas's fits release the GIL for whole epochs).

The searches are timed interleaved in one process, one search per timing, with
an untimed pause before each so that none pays for the BLAS threads another
left spinning. Every row also gives its best alpha and score: the rows of one
library fit the same models (the same random numbers whatever the jobs; 1 and 2
BLAS threads round differently).

Run as ``fastblas bench search`` or ``python -m fastblas.benchmarks.bench_search``.
"""
import argparse
import warnings

from fastblas import _recipes
from fastblas.cli import _options

try:
    import joblib
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from fastblas.nn import MLPClassifier
except ImportError as exc:
    raise ImportError(f"fastblas bench search needs scikit-learn ({exc}): "
                      'pip install "fastblas[nn]"') from exc

if __package__:
    from . import _timing
else:  # run as a file: this folder is sys.path[0]
    import _timing

ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1)
PAUSE = 0.3
BASELINE = "scikit-learn, 1 job"
# label: (estimator class, its extra parameters, n_jobs, joblib backend)
SEARCHES = {
    BASELINE: (SkMLPClassifier, {}, 1, "sequential"),
    "scikit-learn, 2 jobs (loky)": (SkMLPClassifier, {}, 2, "loky"),
    "fastblas, 1 job": (MLPClassifier, {}, 1, "sequential"),
    "fastblas, 1 job, n_threads=1": (MLPClassifier, {"n_threads": 1}, 1, "sequential"),
    "fastblas, 2 jobs (loky)": (MLPClassifier, {}, 2, "loky"),
    "fastblas, 2 jobs (threading)": (MLPClassifier, {}, 2, "threading"),
}
DEFAULTS = dict(n_samples=5000, epochs=8, repeat=5)
QUICK = dict(n_samples=500, epochs=2, repeat=1)


class Search:
    """One GridSearchCV run per call; ``best`` holds the last run's best alpha and score."""

    def __init__(self, estimator, params, n_jobs, backend, X, y, epochs):
        self.search = GridSearchCV(
            estimator(max_iter=epochs, random_state=0, **params), {"alpha": list(ALPHAS)},
            cv=2, n_jobs=n_jobs)
        self.backend, self.X, self.y = backend, X, y
        self.best = None

    def __call__(self):
        with warnings.catch_warnings(), joblib.parallel_config(backend=self.backend):
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.search.fit(self.X, self.y)
        self.best = (self.search.best_params_["alpha"], self.search.best_score_)


def run(X, y, epochs, repeat):
    """{label: (Timing, best alpha, best score, warm-up seconds)}. Each search is
    warmed up, in the order of SEARCHES, by a search of one epoch on a tenth of
    the data, timed apart: the first loky row starts joblib's worker processes
    there, and each library is imported into them on its first loky search."""
    searches, warm_ups = {}, {}
    rows = max(len(X) // 10, 200)
    for label, (estimator, params, n_jobs, backend) in SEARCHES.items():
        warm_up = Search(estimator, params, n_jobs, backend, X[:rows], y[:rows], 1)
        warm_ups[label] = float(_timing.time_interleaved({label: warm_up}, repeat=1,
                                                         loops=1)[label])
        searches[label] = Search(estimator, params, n_jobs, backend, X, y, epochs)
    timings = _timing.interleaved_with_pauses(searches, repeat, PAUSE)
    return {label: (timings[label], *searches[label].best, warm_ups[label])
            for label in SEARCHES}


def format_results(results, markdown=False):
    baseline = results[BASELINE][0]
    rows = [[label, _timing.format_timing(timing), f"{baseline / timing:.2f}x",
             f"{alpha:g}", f"{score:.3f}", f"{warm_up:.2f}"]
            for label, (timing, alpha, score, warm_up) in results.items()]
    return _timing.format_table(
        ["search", "seconds", "vs scikit-learn, 1 job", "best alpha", "best score",
         "warm-up s"], rows, markdown)


WARM_UP_NOTE = ("warm-up s: the first search of each row (1 epoch, a tenth of the data), "
                "timed apart from the rounds, in the table's order; the first loky row "
                "starts joblib's worker processes there")
DESCRIPTION = __doc__.split("\n\nRun as")[0]


def build_parser(prog="fastblas bench search"):
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=_timing.positive_int,
                        help=f"training images (default {DEFAULTS['n_samples']})")
    parser.add_argument("--epochs", type=_timing.positive_int,
                        help=f"max_iter of every fit (default {DEFAULTS['epochs']})")
    parser.add_argument("--repeat", type=_timing.positive_int,
                        help=f"interleaved rounds; the median is kept (default "
                             f"{DEFAULTS['repeat']})")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 500 images, 2 epochs, one round")
    _options.add_data(parser)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    _timing.add_results_option(parser, "search.json and search.md")
    return parser


def main(argv=None, prog="fastblas bench search"):
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    settings = _timing.settings_from_args(parser, args, DEFAULTS, QUICK)
    try:
        data = _recipes.load_data(args.data, n_train=settings["n_samples"], n_test=0)
    except (OSError, ValueError) as exc:     # missing, truncated or corrupt files
        raise SystemExit(f"cannot load Fashion-MNIST: {exc}") from exc
    settings.update(n_samples=len(data.X_train), data=data.source, alphas=list(ALPHAS))
    title = (f"GridSearchCV of an MLP (4 alphas, cv=2, {settings['epochs']} epochs) over "
             f"{settings['n_samples']} Fashion-MNIST images")
    _timing.print_header(f"{title}; data: {data.source}", settings,
                         "speed-up = scikit-learn's sequential search time / this row's")
    results = run(data.X_train, data.y_train, settings["epochs"], settings["repeat"])
    notes = [WARM_UP_NOTE,
             _timing.spread_warning({label: [timing] for label, (timing, *_) in
                                     results.items()}),
             _timing.load_warning()]
    _timing.print_results(format_results(results, args.markdown), results, None, None, notes)
    if args.results:
        paths = _timing.save_results(
            args.results, "search", title, settings, format_results(results, True),
            {label: dict(seconds=timing, best_alpha=alpha, best_score=score,
                         warm_up_seconds=warm_up)
             for label, (timing, alpha, score, warm_up) in results.items()}, notes)
        print("results written to " + " and ".join(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
