"""The figures of ``fastblas train --plot``: an RBM's filters, an MLP's learning curves."""
import numpy as np


def _figure(**kwargs):
    # a bare Figure, no pyplot: no backend to choose, no global state
    from matplotlib.figure import Figure
    return Figure(**kwargs)


def plot_filters(components, path, title, n_max=100):
    """A grid of the first ``n_max`` hidden units' weights, each a 28x28 image scaled
    to its own range (white: large positive weight)."""
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
    fig = _figure(figsize=(7, 7 * nrows / ncols + 0.8))
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize="medium")
    ax.text(0.5, -0.01, "each unit's 784 weights as a 28x28 image, scaled to its own range: "
            "white = most positive", transform=ax.transAxes, ha="center", va="top",
            fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_curves(records, path, title):
    """Training loss and test accuracy against the epoch (``records``: one dict per
    epoch with ``epoch``, ``loss`` and ``test accuracy``)."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter
    epochs = [r["epoch"] for r in records]
    accuracy = [r["test accuracy"] for r in records]
    fig = _figure(figsize=(10, 4.2))
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(epochs, [r["loss"] for r in records], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss (cross-entropy, nats per image)",
                title="training loss")
    loss_ax.set_ylim(bottom=0)
    acc_ax.plot(epochs, accuracy, marker="o", color="tab:green")
    acc_ax.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
    # from a round tenth at least 10 points below the lowest accuracy, up to 100%
    floor = np.floor(min(accuracy, default=0.0) * 10) / 10 - 0.1
    acc_ax.set_ylim(max(0.0, floor), 1.0)
    acc_ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(epochs) == 1:
            ax.set_xlim(0.5, 1.5)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
