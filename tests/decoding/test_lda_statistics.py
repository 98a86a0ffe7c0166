"""Per-class statistics of the batched shrinkage LDA against scikit-learn and numpy."""

import numpy as np
import pytest
import torch
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroalign.decoding._solvers import (
    _class_scatters,
    _ledoit_wolf_shrinkage,
    class_statistics,
    fit_linear,
)


def unbalanced(rng, n=90, n_features=6, n_classes=3, n_batch=4, offset=0.0):
    """Batch of problems with unequal classes, shuffled rows and a class effect."""
    codes = rng.choice(
        n_classes, n, p=np.linspace(1, 3, n_classes) / np.linspace(1, 3, n_classes).sum()
    )
    X = rng.standard_normal((n_batch, n, n_features)) + offset
    X[:, :, 0] += codes
    return X, codes


def test_ledoit_wolf_intensity_of_every_class_matches_sklearn(rng):
    X, codes = unbalanced(rng)
    rows = torch.as_tensor(np.flatnonzero(np.arange(len(codes)) % 4 != 0))
    stats = _class_scatters(torch.as_tensor(X), torch.as_tensor(codes), rows, 3, ledoit_wolf=True)
    # The statistics are of rows standardised by their class scale: unit variances.
    variances = (stats.diagonals > 0).to(torch.float64)
    intensity, _ = _ledoit_wolf_shrinkage(variances, stats.frobenius, stats.fourth, stats.counts)
    for b in range(X.shape[0]):
        for k in range(3):
            block = X[b, rows.numpy()][codes[rows.numpy()] == k]
            expected = ledoit_wolf_shrinkage(StandardScaler().fit_transform(block))
            # float64 closed forms: equal to rounding.
            assert intensity[b, k].item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("shrinkage", ["ledoit_wolf", "oas", 0.2])
def test_training_rows_fit_like_the_subset(rng, shrinkage):
    X, codes = unbalanced(rng)
    data, labels = torch.as_tensor(X), torch.as_tensor(codes)
    train = torch.as_tensor(np.flatnonzero(np.arange(len(codes)) % 5 != 2))
    statistics = class_statistics(data, labels, 3)
    folded = fit_linear(
        data, labels, 3, train=train, statistics=statistics, classifier="lda", shrinkage=shrinkage
    )
    subset = fit_linear(data[:, train], labels[train], 3, classifier="lda", shrinkage=shrinkage)
    # Same rows in the same order: float64 results equal to rounding.
    np.testing.assert_allclose(folded.weights, subset.weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(folded.bias, subset.bias, rtol=1e-12, atol=1e-12)


def test_constant_feature_within_a_class_matches_sklearn(rng):
    X, codes = unbalanced(rng, n_batch=1, offset=50.0)
    X[0, codes == 1, 3] = 7.0  # no spread inside class 1: its class scale is 1
    reference = make_pipeline(
        StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    ).fit(X[0], codes)
    decision = fit_linear(torch.as_tensor(X), torch.as_tensor(codes), 3, classifier="lda")
    ours = decision.decisions(torch.as_tensor(X))[0].numpy()
    # float64 closed forms agree to rounding of decision values of order 10.
    np.testing.assert_allclose(ours, reference.decision_function(X[0]), atol=1e-9)


def test_float32_offset_data_stay_close_to_float64(rng):
    X, codes = unbalanced(rng, offset=100.0)
    X = X.astype(np.float32)
    labels = torch.as_tensor(codes)
    decisions = {
        dtype: fit_linear(torch.as_tensor(X, dtype=dtype), labels, 3, classifier="lda")
        .decisions(torch.as_tensor(X, dtype=torch.float64))
        .numpy()
        for dtype in (torch.float32, torch.float64)
    }
    # Every class is centred by its own mean before any float32 product: the decisions
    # move by float32 rounding of values of order 100 (eps * 100 ~ 1e-5), not by the
    # square of the offset.
    spread = np.abs(decisions[torch.float64]).max()
    np.testing.assert_allclose(
        decisions[torch.float32], decisions[torch.float64], atol=1e-4 * spread
    )


def test_class_statistics_match_numpy(rng):
    X, codes = unbalanced(rng)
    stats = class_statistics(torch.as_tensor(X), torch.as_tensor(codes), 3)
    for k in range(3):
        block = X[:, codes == k]
        np.testing.assert_allclose(stats.grams[:, k], block.transpose(0, 2, 1) @ block, rtol=1e-12)
        np.testing.assert_allclose(stats.sums[:, k], block.sum(1), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(stats.counts, np.bincount(codes, minlength=3))
