import functools

import numpy as np
import pytest

from neuroalign.decoding import (
    RidgeClassifierDecoder,
    _null,
    _time,
    decode_over_time,
    decoding_cluster_test,
    decoding_permutation_test,
)
from neuroalign.decoding._stats import _permuted_labels
from neuroalign.decoding._time import relabelled_curves
from neuroalign.stats import cluster_permutation_test


def test_group_cluster_test_is_the_one_sided_sign_flip_test(rng):
    scores = 0.5 + 0.05 * rng.standard_normal((8, 20))
    scores[:, 5:12] += 0.08
    ours = decoding_cluster_test(scores, 0.5, n_permutations=256, seed=1)
    expected = cluster_permutation_test(scores - 0.5, tail=1, n_permutations=256, seed=1)
    np.testing.assert_array_equal(ours.labels, expected.labels)
    np.testing.assert_allclose(ours.p_values, expected.p_values)
    assert ours.significant(0.05)[5:12].all()


def test_permutation_test_finds_the_effect_and_nothing_in_noise(rng):
    y = np.repeat([0, 1], 30)
    X = rng.standard_normal((60, 3, 12))
    noise = decoding_permutation_test(X, y, n_permutations=19, cv=3, seed=0, device="cpu")
    assert noise.null.shape == (19, 12) and not noise.clusters.significant(0.05).any()
    X[y == 1, 0, 6:] += 1.5
    result = decoding_permutation_test(X, y, n_permutations=39, cv=3, seed=0, device="cpu")
    assert result.clusters.significant(0.05)[6:].all() and result.p_values[6:].max() == 1 / 40
    assert not result.clusters.significant(0.05)[:5].any()
    general = decoding_permutation_test(
        X, y, n_permutations=9, cv=3, seed=0, generalize=True, device="cpu"
    )
    assert general.observed.shape == (12, 12) and general.null.shape == (9, 12, 12)


def test_grouped_permutations_move_whole_groups(rng):
    groups = np.repeat(np.arange(10), 3)
    y = np.repeat(np.arange(10) % 2, 3)
    permuted = _permuted_labels(np.random.default_rng(0), y, groups)
    assert all(len(set(permuted[groups == g])) == 1 for g in range(10))
    assert np.bincount(permuted).tolist() == np.bincount(y).tolist()


def _epochs(rng, n_classes, n_epochs=48, n_channels=4, n_times=9):
    y = np.arange(n_epochs) % n_classes
    X = rng.standard_normal((n_epochs, n_channels, n_times))
    X[:, 0, 4:] += 0.8 * y[:, None]
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("scoring", ["roc_auc", "accuracy", "balanced_accuracy"])
@pytest.mark.parametrize(
    "options",
    [{}, {"window": 2, "standardize": False}, {"classifier": RidgeClassifierDecoder(alpha=30.0)}],
)
def test_relabellings_solved_together_equal_one_decoding_each(
    rng, monkeypatch, n_classes, scoring, options
):
    X, y = _epochs(rng, n_classes)
    folds = decode_over_time(X, y, cv=4, device="cpu").folds
    relabellings = [rng.permutation(y) for _ in range(5)]
    options = {"scoring": scoring, "device": "cpu", "dtype": "float64", **options}
    expected = np.stack([decode_over_time(X, p, cv=folds, **options).mean for p in relabellings])

    @functools.wraps(decode_over_time)  # keeps the signature that options are bound to
    def one_at_a_time(*args, **kwargs):
        raise AssertionError("the relabellings should be solved together")

    monkeypatch.setattr(_time, "decode_over_time", one_at_a_time)
    curves = relabelled_curves(X, relabellings, folds, **options)
    np.testing.assert_allclose(curves, expected, rtol=0, atol=1e-12)
    # Batches of two relabellings (the last one alone), as a small max_memory gives.
    plan = _null.plan_batches
    monkeypatch.setattr(_null, "plan_batches", functools.partial(plan, largest=2))
    curves = relabelled_curves(X, relabellings, folds, **options)
    np.testing.assert_allclose(curves, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "options",
    [
        {"generalize": True},
        {"class_weight": "balanced"},
        {"classifier": "lda"},
        {"window": 7},  # 42 features, 36 training epochs per fold: the dual solution
    ],
)
def test_other_settings_decode_every_relabelling(rng, monkeypatch, options):
    X, y = _epochs(rng, 2, n_channels=6, n_times=12)
    folds = decode_over_time(X, y, cv=4, device="cpu").folds
    relabellings = [rng.permutation(y) for _ in range(3)]
    options = {"device": "cpu", "dtype": "float64", **options}
    expected = np.stack([decode_over_time(X, p, cv=folds, **options).mean for p in relabellings])

    def together(*args, **kwargs):
        raise AssertionError("these settings need one decoding per relabelling")

    monkeypatch.setattr(_time, "ridge_null_scores", together)
    np.testing.assert_array_equal(relabelled_curves(X, relabellings, folds, **options), expected)


def test_relabellings_with_other_classes_are_refused(rng):
    X, y = _epochs(rng, 3)
    folds = decode_over_time(X, y, cv=4, device="cpu").folds
    with pytest.raises(ValueError, match="same classes"):
        relabelled_curves(X, [y, np.where(y == 2, 1, y)], folds, device="cpu")


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("options", [{}, {"class_weight": "balanced", "scoring": "accuracy"}])
def test_logistic_relabellings_fitted_together_equal_one_decoding_each(
    rng, monkeypatch, n_classes, options
):
    X, y = _epochs(rng, n_classes, n_epochs=45)
    y[:4] = 0  # unbalanced classes, so that the class weights differ between permutations
    folds = decode_over_time(X, y, cv=3, device="cpu").folds
    relabellings = [rng.permutation(y) for _ in range(5)]
    options = {"classifier": "logistic", "device": "cpu", "dtype": "float64", **options}
    expected = np.stack([decode_over_time(X, p, cv=folds, **options).mean for p in relabellings])

    @functools.wraps(decode_over_time)
    def one_at_a_time(*args, **kwargs):
        raise AssertionError("the relabellings should be fitted together")

    monkeypatch.setattr(_time, "decode_over_time", one_at_a_time)
    monkeypatch.setattr(_time, "_RELABELLINGS_PER_FIT", 2)  # three fits, the last of one
    curves = relabelled_curves(X, relabellings, folds, **options)
    # Float64 fits stop at a gradient below 1e-10 (relative): the same decisions to
    # about 1e-9, so the same ranks and scores.
    np.testing.assert_allclose(curves, expected, rtol=0, atol=1e-12)
