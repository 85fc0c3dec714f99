"""Ctrl-C during an MLP fit: every estimator, dtype and solver returns promptly
with a usable model and scikit-learn's warning.

SIGINT comes from a timer thread (os.kill) once training is under way, so that
it lands inside the nogil loop (or between epochs, or in scipy's L-BFGS-B); the
loop takes the GIL to handle signals every 50 ms (the policy of _nn_common).
The bound on the answer is 0.25 s, 1 s when the environment variable CI is set.
"""
import os
import signal
import threading
import time

import numpy as np
import pytest
import scipy.optimize

pytest.importorskip("sklearn")

from fastblas.nn import MLPClassifier, MLPRegressor  # noqa: E402

LATENCY_BOUND = 1.0 if os.environ.get("CI") else 0.25
# Never converges, never stops for lack of improvement: only Ctrl-C ends it.
ENDLESS = dict(max_iter=10**9, max_fun=10**9, tol=0.0, n_iter_no_change=np.inf)


class SigintTimer:
    """Sends SIGINT to this process `delay` seconds after start(); records when."""

    def __init__(self, delay):
        self.sent = []
        self.timer = threading.Timer(delay, self._send)

    def _send(self):
        self.sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    def start(self, *_):
        if not self.timer.is_alive() and not self.sent:
            self.timer.start()


@pytest.fixture(scope="module")
def data():
    # epochs (and L-BFGS evaluations) of 0.2 s or more: the signal, 50 ms after
    # the first epoch (or the optimization's start), lands inside the nogil loop
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 300))
    return X, rng.integers(0, 3, 20000), rng.normal(size=20000)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_ctrl_c_answered_promptly_with_a_usable_model(data, cls, dtype, solver,
                                                     monkeypatch):
    X, labels, targets = data
    X = X.astype(dtype)
    y = labels if cls is MLPClassifier else targets
    sigint = SigintTimer(0.05)
    if solver == "lbfgs":
        minimize = scipy.optimize.minimize

        def armed(*args, **kwargs):         # the timer starts with the optimization
            sigint.start()
            return minimize(*args, **kwargs)

        monkeypatch.setattr(scipy.optimize, "minimize", armed)
    model = cls(hidden_layer_sizes=(512,), solver=solver, random_state=0, n_threads=1,
                callback=sigint.start, **ENDLESS)   # stochastic: after the first epoch
    try:
        with pytest.warns(UserWarning, match="Training interrupted by user"):
            model.fit(X, y)
        returned = time.perf_counter()
    finally:
        sigint.timer.cancel()
    assert len(sigint.sent) == 1
    latency = returned - sigint.sent[0]
    print(f"{cls.__name__} {np.dtype(dtype)} {solver}: answered in {latency * 1e3:.0f} ms")
    assert latency < LATENCY_BOUND
    assert all(np.isfinite(p).all() for p in model.coefs_ + model.intercepts_)
    assert all(p.dtype == dtype for p in model.coefs_ + model.intercepts_)
    assert model.predict(X[:10]).shape == (10,)
    if solver == "lbfgs":
        # the last iterate, or the initial weights; the loss unknown (nan) only
        # when the very first evaluation was interrupted
        assert np.isfinite(model.loss_) or model.n_iter_ == 0
    else:
        assert model.n_iter_ >= 1 and len(model.loss_curve_) == model.n_iter_
        assert np.isfinite(model.loss_)
