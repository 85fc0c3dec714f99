"""benchmarks.jax_reference: the JAX epoch takes the NumPy reference's steps."""
import numpy as np
import pytest

try:
    from fastblas.benchmarks import jax_reference, references
except ImportError:  # source checkout built in place: benchmarks/ is not inside fastblas/
    from benchmarks import jax_reference, references


def test_importable_without_jax_and_checks_arguments():
    with pytest.raises(ValueError, match="activation"):
        jax_reference.make_epoch(10, "sigmoid", "sgd", 10, 0.1)
    with pytest.raises(ValueError, match="solver"):
        jax_reference.make_epoch(10, "relu", "lbfgs", 10, 0.1)


@pytest.mark.parametrize("activation, solver, batch_size, lr", [
    ("tanh", "sgd", 20, 0.1),
    ("relu", "adam", 32, 1e-3),          # 200 = 6 x 32 + 8: a last, smaller batch
])
def test_epochs_match_the_numpy_reference(activation, solver, batch_size, lr):
    pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    X = rng.random((200, 30)).astype(np.float32)
    y = rng.integers(0, 4, 200)
    epoch, compile_seconds = jax_reference.make_epoch(
        16, activation, solver, batch_size, lr, "float32", seed=3,
        n_samples=200, n_features=30, n_classes=4)
    assert compile_seconds > 0
    reference = references.NumpyMLP(16, lr, batch_size, activation=activation, solver=solver,
                                    dtype=np.float32, random_state=3)
    for _ in range(2):
        epoch(X, y)
        reference.epoch(X, y)
    W1, b1, W2, b2 = epoch.parameters()
    expected = [reference.coefs_[0], reference.intercepts_[0], reference.coefs_[1],
                reference.intercepts_[1]]
    for ours, theirs in zip([W1, b1, W2, b2], expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_a_shuffled_epoch_takes_its_rows_in_the_order_given():
    pytest.importorskip("jax")
    rng = np.random.default_rng(1)
    X = rng.random((100, 12)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    order = rng.permutation(100)
    arguments = (8, "relu", "adam", 32, 1e-3, "float32", 5)   # 100 = 3 x 32 + 4
    sizes = dict(n_samples=100, n_features=12, n_classes=3)
    shuffled, _ = jax_reference.make_epoch(*arguments, shuffle=True, **sizes)
    on_shuffled_data, _ = jax_reference.make_epoch(*arguments, **sizes)
    on_data, _ = jax_reference.make_epoch(*arguments, **sizes)
    with pytest.raises(ValueError, match="order"):
        shuffled(X, y)
    with pytest.raises(ValueError, match="order"):
        on_data(X, y, order)
    shuffled(X, y, order)
    on_shuffled_data(X[order], y[order])
    on_data(X, y)
    for ours, theirs in zip(shuffled.parameters(), on_shuffled_data.parameters()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # and the order matters: the same epoch in the data's order ends elsewhere
    assert not np.allclose(shuffled.parameters()[0], on_data.parameters()[0], atol=1e-6)


def test_the_weight_penalty_adds_alpha_w_over_the_batch_to_the_gradient():
    # one SGD step from the same weights, with and without the penalty: the
    # steps differ by lr * alpha * W / batch for the weights, not at all for
    # the intercepts (scikit-learn's L2 term, alpha / 2 * ||W||^2 / batch)
    pytest.importorskip("jax")
    rng = np.random.default_rng(2)
    X = rng.random((20, 6)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    lr, alpha = 0.1, 0.5
    arguments = (4, "tanh", "sgd", 20, lr, "float32", 7)
    sizes = dict(n_samples=20, n_features=6, n_classes=3)
    plain, _ = jax_reference.make_epoch(*arguments, **sizes)
    penalised, _ = jax_reference.make_epoch(*arguments, alpha=alpha, **sizes)
    initial = plain.parameters()
    plain(X, y)
    penalised(X, y)
    for start, ours, theirs, is_weight in zip(initial, penalised.parameters(),
                                              plain.parameters(), [True, False] * 2):
        expected = -lr * alpha * start / 20 if is_weight else np.zeros_like(start)
        np.testing.assert_allclose(ours - theirs, expected, rtol=1e-4, atol=2e-7)
