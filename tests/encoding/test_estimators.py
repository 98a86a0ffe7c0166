import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroalign.encoding import RidgeEncoder, solve_ridge_cv
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
