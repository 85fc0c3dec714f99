"""Training epoch by epoch with progress per minibatch, and a clean stop on Ctrl-C.

An epoch runs as a sequence of ``partial_fit`` calls over consecutive slices of
the data, each made of whole minibatches, so that Python can report progress
and notice Ctrl-C between them. With ``shuffle=False`` this trains exactly the
model ``fit`` trains (the same minibatches in the same order, the optimizer
state carried over). The costs, measured with 1 BLAS thread:

* the RBM's ``partial_fit`` makes one update from all the rows it is given, so
  it gets one minibatch per call: about 0.1 ms of Python per call, ~3% of an
  epoch at 784-500 and minibatch 100 (more at smaller minibatches);
* the MLP's ``partial_fit`` costs about 1 ms of Python per call, so its slices
  span about ``TARGET_SECONDS`` of training: under 1% of an epoch.
"""
import signal
import threading
import time

import numpy as np

TARGET_SECONDS = 0.15    # time between two progress updates of the MLP


class Interrupted(Exception):
    """Ctrl-C stopped training between two minibatches of ``epoch``."""

    def __init__(self, epoch, batches):
        super().__init__(f"interrupted in epoch {epoch} after {batches} "
                         f"batch{'es' * (batches != 1)}")
        self.epoch, self.batches = epoch, batches


class StopRequest:
    """While active, Ctrl-C only asks the training loop to stop at the next batch
    boundary; a second Ctrl-C raises KeyboardInterrupt at once, as usual."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class EpochTrainer:
    """Trains ``model`` (a fastblas.nn, scikit-learn or NumPy-reference RBM or MLP)
    on (X, y) one epoch at a time, in slices of whole minibatches."""

    def __init__(self, model, kind, library, batch_size, X, y=None):
        self.model, self.kind, self.library = model, kind, library
        self.batch_size, self.X, self.y = batch_size, X, y
        self.epoch = 0
        self.classes = None if y is None else np.unique(y)
        if library == "numpy" and kind == "mlp":
            model._initialize(X.shape[1], self.classes)   # all labels, not one slice's
        self._slice_batches = 1

    def _train_slice(self, rows):
        X = self.X[rows]
        if self.library == "numpy":
            if self.kind == "mlp":
                self.model.epoch(X, self.y[rows])
            else:
                self.model.epoch(X)
        elif self.kind == "mlp":
            self.model.partial_fit(X, self.y[rows], classes=self.classes)
        else:
            self.model.partial_fit(X)

    def _next_slice_batches(self, done_batches, seconds):
        """Minibatches in the next slice: one for an RBM of fastblas or scikit-learn
        (one update per partial_fit), else about TARGET_SECONDS of work, growing at
        most 4x at a time."""
        if self.kind == "rbm" and self.library != "numpy":
            return 1
        per_batch = seconds / max(done_batches, 1)
        return int(min(4 * done_batches, max(1, TARGET_SECONDS / max(per_batch, 1e-9))))

    def run_epoch(self, progress=None, stop=None):
        """Train one epoch; returns ``(seconds, mean training loss or None)``.

        ``progress(n_samples)`` is called after every slice; when ``stop.requested``
        becomes true, raises :class:`Interrupted` at the next slice boundary (the
        model then holds every complete minibatch update).
        """
        self.epoch += 1
        n = self.X.shape[0]
        start = done = batches = 0
        curve_length = len(getattr(self.model, "loss_curve_", []))   # none before a first fit
        loss_sum = 0.0
        elapsed = 0.0
        while start < n:
            if stop is not None and stop.requested:
                raise Interrupted(self.epoch, batches)
            stop_row = min(n, start + self._slice_batches * self.batch_size)
            tic = time.perf_counter()
            self._train_slice(slice(start, stop_row))
            seconds = time.perf_counter() - tic
            elapsed += seconds
            slice_batches = -(-(stop_row - start) // self.batch_size)
            batches += slice_batches
            if self.kind == "mlp":
                loss_sum += self.model.loss_curve_[-1] * (stop_row - start)
            self._slice_batches = self._next_slice_batches(slice_batches, seconds)
            done, start = stop_row, stop_row
            if progress is not None:
                progress(done)
        if stop is not None and stop.requested:   # pressed during the last slice
            raise Interrupted(self.epoch, batches)
        if self.kind != "mlp":
            return elapsed, None
        self._record_epoch_loss(curve_length, loss_sum / n)
        return elapsed, loss_sum / n

    def _record_epoch_loss(self, curve_length, loss):
        """Every partial_fit appended its slice's loss to ``loss_curve_``: keep one
        entry for the epoch, its mean loss, as ``fit`` does."""
        del self.model.loss_curve_[curve_length:]
        self.model.loss_curve_.append(loss)
        self.model.loss_ = loss

