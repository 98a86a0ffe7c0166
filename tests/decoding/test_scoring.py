"""ROC AUC of float32 and float64 decision values, and the warm-started logistic fit."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from neuroalign.decoding import decode_over_time
from neuroalign.decoding._scoring import score_decisions
from neuroalign.decoding._solvers import fit_linear


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_auc_matches_sklearn_with_ties_and_signed_zeros(rng, dtype, decimals):
    scores = rng.standard_normal((40, 25))
    if decimals is not None:
        scores = np.round(scores, decimals)  # many ties across classes
    scores[0, :4] = -0.0
    scores[0, 4:8] = 0.0
    codes = (rng.random(25) < 0.4).astype(np.int64)
    decisions = torch.as_tensor(scores, dtype=dtype)[..., None]
    ours = score_decisions(decisions, torch.as_tensor(codes), 2, "roc_auc").numpy()
    expected = [roc_auc_score(codes, row) for row in scores.astype(decisions.numpy().dtype)]
    # Both compute the same rational number; only the final division rounds.
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-15)


def test_logistic_start_reaches_the_same_optimum(rng):
    X = torch.as_tensor(rng.standard_normal((3, 60, 4)))
    codes = torch.as_tensor(np.arange(60) % 2)
    X[:, codes == 1, 0] += 1.0
    cold = fit_linear(X, codes, 2, classifier="logistic", train=torch.arange(45))
    start = fit_linear(X, codes, 2, classifier="logistic", train=torch.arange(15, 60))
    warm = fit_linear(X, codes, 2, classifier="logistic", train=torch.arange(45), start=start)
    # Both stop at a gradient below tol=1e-10 of a strongly convex objective.
    np.testing.assert_allclose(warm.weights.numpy(), cold.weights.numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(warm.bias.numpy(), cold.bias.numpy(), rtol=0, atol=1e-8)
    assert warm.n_iter < cold.n_iter


def test_generalization_auc_float32_matches_float64(rng):
    y = np.repeat([0, 1], 20)
    X = rng.standard_normal((40, 5, 6))
    X[y == 1, 0, 3:] += 1.0
    single = decode_over_time(X, y, cv=4, generalize=True, device="cpu", dtype="float32")
    double = decode_over_time(X, y, cv=4, generalize=True, device="cpu", dtype="float64")
    # float32 decision values can only swap near-ties: a few pairs of 100 per fold.
    np.testing.assert_allclose(single.scores, double.scores, rtol=0, atol=0.03)
