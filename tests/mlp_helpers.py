"""Helpers shared by the MLP tests (imported by tests/test_mlp*.py)."""
import numpy as np


def from_initial_weights(model, seed):
    """Make `model` (fastblas's or scikit-learn's MLP) start from the same weights,
    drawn by default_rng(seed), whatever its own random stream: the two fits can
    then be compared step for step."""
    initialize = model._initialize

    def seeded(y, layer_units, dtype):
        initialize(y, layer_units, dtype)
        rng = np.random.default_rng(seed)
        model.coefs_ = [rng.uniform(-0.3, 0.3, (a, b)).astype(dtype)
                        for a, b in zip(layer_units, layer_units[1:])]
        model.intercepts_ = [rng.uniform(-0.3, 0.3, b).astype(dtype)
                             for b in layer_units[1:]]

    model._initialize = seeded
    return model
