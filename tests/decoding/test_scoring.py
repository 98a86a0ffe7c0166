"""ROC AUC of float32 and float64 decision values, and the warm-started logistic fit."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from neuroalign.decoding import decode_over_time
from neuroalign.decoding._scoring import (
    _auc_float32_cpu,
    predict_codes,
    score_decisions,
)
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


@pytest.mark.parametrize("n_outputs", [1, 4, 300])
@pytest.mark.parametrize("strided", [False, True])
def test_predicted_codes_follow_argmax_with_ties(rng, n_outputs, strided):
    # Decisions rounded to a few values tie often, also at the maximum; the first largest
    # output wins (as NumPy's argmax).
    n_samples = 50
    values = np.round(rng.standard_normal((6, 3, n_outputs, n_samples)))
    if n_outputs > 1:
        values[0, 0] = 0.0  # every output tied
        values[0, 1, :2] = values[0, 1].max(0) + 1  # the first two outputs tied at the top
    decisions = torch.as_tensor(values).transpose(-1, -2)
    if not strided:
        decisions = decisions.contiguous()
    classes = max(n_outputs, 2)
    codes = torch.as_tensor(rng.integers(0, classes, n_samples))
    if n_outputs > 1:
        codes[:2] = torch.tensor([0, 1])
        reference = torch.as_tensor(values.argmax(-2))
    else:
        reference = torch.as_tensor(values[:, :, 0] > 0).long()
    assert torch.equal(predict_codes(decisions), reference)
    if n_outputs > 1:  # a tie at the top goes to the first output
        assert predict_codes(decisions)[0, 1, 0] == 0
        assert predict_codes(decisions)[0, 1, 1] == 0
    accuracy = score_decisions(decisions, codes, classes, "accuracy")
    np.testing.assert_array_equal(accuracy.numpy(), (reference == codes).double().mean(-1).numpy())


@pytest.mark.parametrize("block", [None, 7])
def test_float32_auc_exact_for_neighbouring_values_across_classes(rng, block):
    # Pairs one float32 step apart (either order, both signs) and exact ties, in both classes.
    base = rng.standard_normal((30, 12)).astype(np.float32)
    up = np.nextafter(base, np.float32(np.inf))
    scores = np.concatenate([base, up], 1)
    scores[::2] = -scores[::2]
    scores[::3, :6] = scores[::3, 12:18]
    codes = np.concatenate([np.tile([0, 1], 6), np.tile([1, 0], 6)])  # neighbours differ
    if block is None:
        decisions = torch.as_tensor(scores)[..., None]
        ours = score_decisions(decisions, torch.as_tensor(codes), 2, "roc_auc").numpy()
    else:  # rows in blocks of 7, mixed rows in several of them
        wins = _auc_float32_cpu(torch.as_tensor(scores), torch.as_tensor(codes == 1), block)
        ours = wins.numpy() / (12 * 12)
    expected = [roc_auc_score(codes, row) for row in scores]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-15)


def test_generalization_auc_float32_matches_float64(rng):
    y = np.repeat([0, 1], 20)
    X = rng.standard_normal((40, 5, 6))
    X[y == 1, 0, 3:] += 1.0
    single = decode_over_time(X, y, cv=4, generalize=True, device="cpu", dtype="float32")
    double = decode_over_time(X, y, cv=4, generalize=True, device="cpu", dtype="float64")
    # float32 decision values can only swap near-ties: a few pairs of 100 per fold.
    np.testing.assert_allclose(single.scores, double.scores, rtol=0, atol=0.03)


@pytest.mark.parametrize(("tol", "rule"), [(None, 1e-4), (1e-6, 1e-6)])
def test_float32_logistic_meets_the_float64_gradient_tolerance(rng, tol, rule):
    # Float32 data: L-BFGS runs in float32, then the float64 gradient decides convergence.
    y = np.arange(120) % 2
    X = rng.standard_normal((4, 120, 6)).astype(np.float32) * np.float32(3.0) + np.float32(2.0)
    X[:, y == 1, 0] += np.float32(1.5) * np.arange(4, dtype=np.float32)[:, None]
    decision = fit_linear(torch.as_tensor(X), torch.as_tensor(y), 2, classifier="logistic", tol=tol)
    data = X.astype(np.float64)
    centred = data - data.mean(1, keepdims=True)
    scale = data.std(1)
    weights = decision.weights.numpy()[..., 0]
    logits = np.einsum("bnp,bp->bn", data, weights) + decision.bias.numpy()
    residual = 1.0 / (1.0 + np.exp(-logits)) - y
    gradient_weights = np.einsum("bnp,bn->bp", centred, residual) + scale**2 * weights
    gradient = np.concatenate([gradient_weights, residual.sum(1, keepdims=True)], 1)
    # The stopping rule: every entry below tol * C * n (default tol 1e-4 for float32).
    assert np.abs(gradient).max() <= rule * 120


def test_float32_auc_of_many_samples_matches_sklearn(rng):
    # 70,000 samples: sums of rank positions pass int32's range.
    codes = rng.random(70_000) < 0.5
    scores = rng.standard_normal((2, 70_000)).astype(np.float32) + np.float32(0.3) * codes
    ours = score_decisions(torch.as_tensor(scores)[..., None], torch.as_tensor(codes), 2, "roc_auc")
    expected = [roc_auc_score(codes, row) for row in scores]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)
