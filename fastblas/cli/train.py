"""``fastblas train RECIPE``: train an RBM or an MLP on Fashion-MNIST, with progress."""
import pickle
import statistics
import warnings

import numpy as np

from fastblas import _recipes
from fastblas.cli import _options
from fastblas.cli._progress import Progress
from fastblas.cli._training import EpochTrainer, Interrupted, StopRequest

_LEARNING_RATE = {"rbm": "learning_rate", "mlp": "learning_rate_init"}
# scikit-learn's BernoulliRBM always trains this way: PCD-1, no momentum or decay.
_SKLEARN_RBM = {"momentum": 0.0, "persistent": True, "cd_k": 1, "weight_decay": 0.0}


def description():
    recipes = "\n".join(f"  {r.name:<12} {r.layers()} {r.description}"
                         for r in _recipes.RECIPES.values())
    return f"""\
Train a model on Fashion-MNIST, with progress per minibatch and the test score
after every epoch. Ctrl-C stops at the next minibatch; the model so far is then
saved (--save) and plotted (--plot).

recipes:
{recipes}

examples:
  fastblas train mlp --epochs 20 --plot curves.png
  fastblas train rbm --n-train 10000 --save rbm.pkl --plot filters.png
  fastblas train mlp-adam --library sklearn --threads 1"""


def add_arguments(parser):
    parser.add_argument("recipe", choices=list(_recipes.RECIPES), metavar="RECIPE",
                        help="one of the recipes above")
    parser.add_argument("--library", choices=("fastblas", "sklearn", "numpy"),
                        default="fastblas",
                        help="fastblas.nn (the default), scikit-learn's estimator with the "
                             "same parameters, or the plain NumPy reference implementation")
    parser.add_argument("--hidden", type=_options.layer_sizes, metavar="SIZES",
                        help="hidden units, e.g. 500 (an MLP takes several layers: 256,128)")
    parser.add_argument("--epochs", type=_options.positive_int, default=10, metavar="N",
                        help="epochs (default: 10)")
    parser.add_argument("--batch-size", type=_options.positive_int, metavar="N",
                        help="images per minibatch (default: the recipe's)")
    parser.add_argument("--lr", type=_options.positive_float,
                        help="learning rate (default: the recipe's)")
    parser.add_argument("--momentum", type=_options.fraction, metavar="M",
                        help="momentum (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="precision of the model (default: float32)")
    parser.add_argument("--n-train", type=_options.positive_int, metavar="N",
                        help="train on the first N training images (default: all)")
    parser.add_argument("--n-test", type=_options.positive_int, metavar="N",
                        help="evaluate on the first N test images (default: all)")
    _options.add_data(parser)
    _options.add_threads(parser, "default: the BLAS library's own choice")
    parser.add_argument("--save", metavar="FILE",
                        help="pickle the trained model to FILE")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="RBM: a grid of its filters; MLP: loss and accuracy by epoch")


def recipe_from(args):
    """The recipe named on the command line, with the options that change it."""
    recipe = _recipes.RECIPES[args.recipe]
    if args.hidden is not None:
        try:
            recipe = recipe.with_hidden(args.hidden)
        except ValueError as exc:
            raise _options.UsageError(f"--hidden: {exc}") from None
    changes = {"batch_size": args.batch_size, _LEARNING_RATE[recipe.model]: args.lr,
               "momentum": args.momentum}
    return recipe.with_params(**{k: v for k, v in changes.items() if v is not None})


def check_arguments(args):
    """Every check that can fail, before any data is loaded or any model trained."""
    recipe = recipe_from(args)
    if args.library == "sklearn" and recipe.model == "rbm":
        unlike = [f"{name}={recipe.params[name]}" for name, value in _SKLEARN_RBM.items()
                  if recipe.params.get(name, value) != value]
        if unlike:
            raise _options.UsageError(
                f"--library sklearn: scikit-learn's BernoulliRBM trains by PCD-1 without "
                f"momentum, not with {', '.join(unlike)}: try the rbm-sklearn recipe")
    if args.library == "numpy" and not _recipes.supports(recipe, "numpy"):
        try:
            _recipes.make_estimator(recipe, "numpy")
        except ValueError as exc:
            raise _options.UsageError(f"--library numpy: {exc}") from None
    if args.save:
        _options.check_output_path("--save", args.save)
    if args.plot:
        _options.check_plot_path(args.plot)
    return recipe


def _metrics(kind, model, loss, X_test, y_test):
    if kind == "mlp":
        return {"loss": loss, "test accuracy": model.score(X_test, y_test)}
    return {"test reconstruction error": _recipes._references().reconstruction_error(
        model, X_test)}


def train(trainer, n_epochs, data, label, stop):
    """Train ``n_epochs`` epochs with progress; returns one dict per epoch finished.
    Raises Interrupted (with ``records`` attached) when ``stop`` is requested."""
    progress = Progress(label, n_epochs, len(data.X_train))
    records = []
    try:
        for epoch in range(1, n_epochs + 1):
            seconds, loss = trainer.run_epoch(progress.advance, stop)
            metrics = _metrics(trainer.kind, trainer.model, loss, data.X_test, data.y_test)
            progress.end_epoch(epoch, metrics, seconds)
            records.append({"epoch": epoch, "seconds": seconds, **metrics})
    except Interrupted as exc:
        exc.records = records
        raise
    finally:
        progress.close()
    return records


def _summary(label, records, n_samples):
    seconds = statistics.median(r["seconds"] for r in records)
    final = "  ".join(f"{k} {v:.4f}" for k, v in records[-1].items()
                      if k not in ("epoch", "seconds"))
    return (f"{label}: {len(records)} epoch{'s' * (len(records) != 1)}, median "
            f"{seconds:.2f} s per epoch ({n_samples / seconds:,.0f} images/s); {final}")


def _write_outputs(args, recipe, label, model, records, data):
    """Save and plot what was asked for; returns what was written, in words."""
    written = []
    if args.save:
        with open(args.save, "wb") as f:
            pickle.dump(model, f)
        written.append(f"saved to {args.save}")
    if args.plot and hasattr(model, "components_" if recipe.model == "rbm" else "coefs_"):
        from fastblas.cli import _plots
        epochs = f"{len(records)} epoch{'s' * (len(records) != 1)}"
        images = f"{len(data.X_train):,} Fashion-MNIST images"
        if recipe.model == "rbm":
            shown = min(100, recipe.hidden_units[0])
            _plots.plot_filters(
                model.components_, args.plot,
                f"{label}: RBM {recipe.layers()}, weights of {shown} of its "
                f"{recipe.hidden_units[0]} hidden units\nafter {epochs} on {images}")
        else:
            _plots.plot_curves(records, args.plot,
                               f"{label}: MLP {recipe.layers()}, {epochs} on {images}")
        written.append(f"plotted to {args.plot}")
    return written


def run(args):
    recipe = check_arguments(args)
    library, note = _recipes.choose_library(recipe, args.library)
    data = _options.load_data(args.data, args.n_train, args.n_test, np.dtype(args.dtype))
    print(f"data: {len(data.X_train):,} training and {len(data.X_test):,} test images, "
          f"{data.source}")
    if note:
        print(note)
    model = _recipes.make_estimator(recipe, library, epochs=args.epochs,
                                    dtype=np.dtype(args.dtype), random_state=args.seed)
    if args.threads and "n_threads" in getattr(model, "get_params", dict)():
        model.set_params(n_threads=args.threads)     # estimators that choose their own
    label = f"{library} {args.recipe}"
    print(f"{label}: {recipe.layers()}, {recipe.description}, "
          f"{args.epochs} epoch{'s' * (args.epochs != 1)}, "
          f"{args.dtype}" + (f", BLAS threads: {args.threads}" if args.threads else ""))
    trainer = EpochTrainer(model, recipe.model, library, recipe.batch_size,
                           data.X_train, data.y_train if recipe.model == "mlp" else None)
    with _options.blas_threads(args.threads), StopRequest() as stop, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # scikit-learn: batch_size clipped
        try:
            records = train(trainer, args.epochs, data, label, stop)
        except Interrupted as exc:
            if exc.epoch == 1 and exc.batches == 0:
                print("interrupted before the first batch; nothing saved")
                return 130
            written = _write_outputs(args, recipe, label, model, exc.records, data)
            print(f"{exc}; the model so far is {' and '.join(written)}" if written else
                  f"{exc}; nothing saved (--save FILE keeps the model)")
            return 130
    print(_summary(label, records, len(data.X_train)))
    for line in _write_outputs(args, recipe, label, model, records, data):
        print(f"model {line}")
    return 0
