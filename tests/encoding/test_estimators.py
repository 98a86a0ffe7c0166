import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroalign.encoding import (
    BandedRidgeEncoder,
    RidgeEncoder,
    TemporalReceptiveField,
    solve_banded_ridge_cv,
    solve_ridge_cv,
)
from neuroalign.exceptions import NotFittedError


@parametrize_with_checks([RidgeEncoder(alphas=(0.1, 1.0, 10.0), cv=3, device="cpu")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_encoder_stores_solver_results(rng):
    X = rng.standard_normal((80, 6))
    Y = X @ rng.standard_normal((6, 4)) + rng.standard_normal((80, 4))
    encoder = RidgeEncoder(device="cpu", dtype="float64").fit(X, Y)
    result = solve_ridge_cv(X, Y, encoder.alphas, device="cpu", dtype="float64")
    np.testing.assert_allclose(encoder.coef_, result.coef.numpy().T)
    np.testing.assert_allclose(encoder.predict(X), result.predict(X).numpy(), rtol=1e-12)
    assert encoder.coef_.shape == (4, 6) and encoder.cv_scores_.shape == (21, 4)


def test_to_torch_is_differentiable_and_matches_predict(rng):
    X = rng.standard_normal((50, 5))
    Y = X @ rng.standard_normal((5, 3))
    encoder = RidgeEncoder(device="cpu").fit(X, Y)
    module = encoder.to_torch()
    features = torch.tensor(X[:4], dtype=torch.float32, requires_grad=True)
    out = module(features)
    np.testing.assert_allclose(out.detach().numpy(), encoder.predict(X[:4]), rtol=1e-4, atol=1e-5)
    out[:, 0].sum().backward()
    np.testing.assert_allclose(features.grad[0].numpy(), encoder.coef_[0], rtol=1e-5)
    assert not list(module.parameters())


def test_unfitted_encoder_raises(rng):
    with pytest.raises(NotFittedError):
        RidgeEncoder().predict(rng.standard_normal((2, 2)))
    assert clone(RidgeEncoder(cv=3)).cv == 3


@parametrize_with_checks(
    [BandedRidgeEncoder(alphas=(0.1, 1.0, 10.0), n_iter=3, cv=3, device="cpu")]
)
def test_banded_sklearn_compatible(estimator, check):
    check(estimator)


def test_banded_encoder_finds_the_informative_space(rng):
    X = rng.standard_normal((120, 8))
    Y = X[:, :3] @ rng.standard_normal((3, 5)) + 0.3 * rng.standard_normal((120, 5))
    encoder = BandedRidgeEncoder((3, 5), n_iter=10, device="cpu", dtype="float64").fit(X, Y)
    result = solve_banded_ridge_cv(
        [X[:, :3], X[:, 3:]], Y, encoder.alphas, n_iter=10, seed=0, device="cpu", dtype="float64"
    )
    np.testing.assert_allclose(encoder.gammas_, result.gammas.numpy())
    np.testing.assert_allclose(encoder.coef_, result.coef.numpy().T)
    assert (encoder.gammas_[0] > 0.5).all()
    module = encoder.to_torch()
    out = module(torch.as_tensor(X[:5], dtype=torch.float32))
    np.testing.assert_allclose(out.numpy(), encoder.predict(X[:5]), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="summing to n_features=8"):
        BandedRidgeEncoder((3, 4), device="cpu").fit(X, Y)


def test_trf_to_torch_matches_predict(rng):
    X = rng.standard_normal((6, 50, 2))
    kernel = np.zeros((2, 5))
    kernel[0, 2], kernel[1, 4] = 1.0, -0.5
    Y = np.stack([np.sum([np.convolve(x[:, f], kernel[f])[:50] for f in range(2)], 0) for x in X])
    trf = TemporalReceptiveField(0.0, 0.04, 100.0, device="cpu").fit(X, Y[..., None])
    module = trf.to_torch()
    epochs = torch.tensor(X, dtype=torch.float32, requires_grad=True)
    out = module(epochs)
    np.testing.assert_allclose(out.detach().numpy(), trf.predict(X), atol=1e-4)
    out.sum().backward()
    assert torch.isfinite(epochs.grad).all() and epochs.grad.abs().sum() > 0
