"""Training progress: a tqdm bar over the images of each epoch on a terminal (with the
epochs as the line above it), one plain line per epoch otherwise."""
import sys


def _format_metrics(metrics):
    return "  ".join(f"{name} {value:.4f}" for name, value in metrics.items())


class Progress:
    """Reports the training of ``label`` over ``n_epochs`` epochs of ``n_samples`` images.

    Call :meth:`advance` with the images done so far in the epoch, :meth:`end_epoch`
    after each epoch, :meth:`close` at the end (also after an error).
    """

    def __init__(self, label, n_epochs, n_samples, stream=None):
        self.label, self.n_epochs, self.n_samples = label, n_epochs, n_samples
        self.stream = stream or sys.stdout
        self._epochs = self._images = None
        if self.stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._epochs = tqdm(total=n_epochs, desc=label, position=0, file=self.stream,
                                    dynamic_ncols=True,
                                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} epochs "
                                               "[{elapsed}<{remaining}{postfix}]")
                self._images = tqdm(total=n_samples, desc="  images", unit="img",
                                    unit_scale=True, position=1, leave=False,
                                    file=self.stream, dynamic_ncols=True)

    def advance(self, done):
        """``done`` images of the current epoch are trained."""
        if self._images is not None:
            self._images.update(done - self._images.n)

    def end_epoch(self, epoch, metrics, seconds=None):
        """Epoch ``epoch`` took ``seconds`` (None: not shown); ``metrics`` maps a name
        to a value."""
        shown = _format_metrics(metrics)
        if seconds is not None:
            shown += f"  {seconds:.2f} s, {self.n_samples / seconds:,.0f} img/s"
        if self._epochs is not None:
            self._epochs.set_postfix_str(shown, refresh=False)
            self._epochs.update(1)
            self._images.reset()
        else:
            print(f"{self.label}: epoch {epoch}/{self.n_epochs}  {shown}", file=self.stream,
                  flush=True)

    def close(self):
        for bar in (self._images, self._epochs):
            if bar is not None:
                bar.close()
        self._epochs = self._images = None
