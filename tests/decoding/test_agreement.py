"""Batched decoders against MNE's Sliding/GeneralizingEstimator and scikit-learn, same folds."""

import numpy as np
import pytest
from sklearn.covariance import OAS
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroalign.decoding import (
    LDADecoder,
    LogisticDecoder,
    RidgeClassifierDecoder,
    decode_over_time,
)

mne_decoding = pytest.importorskip("mne.decoding")

REFERENCES = {
    "ridge": lambda: RidgeClassifier(alpha=1.0),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
    # A tight tolerance makes lbfgs reach the optimum that Newton's method finds.
    "logistic": lambda: LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000),
}


def epochs(rng, n=90, n_channels=6, n_times=8, n_classes=2, effect=0.6):
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    X = rng.standard_normal((n, n_channels, n_times))
    for k in range(1, n_classes):
        X[y == k, k - 1, n_times // 2 :] += effect
    return X, y


def mne_scores(X, y, classifier, scoring, generalize):
    estimator_type = (
        mne_decoding.GeneralizingEstimator if generalize else mne_decoding.SlidingEstimator
    )
    pipeline = make_pipeline(StandardScaler(), REFERENCES[classifier]())
    estimator = estimator_type(pipeline, scoring=scoring, verbose=False)
    return mne_decoding.cross_val_multiscore(estimator, X, y, cv=StratifiedKFold(5))


def assert_scores_match_mne(X, y, classifier, scorings, generalize):
    for scoring in scorings:
        expected = mne_scores(X, y, classifier, scoring, generalize)
        ours = decode_over_time(
            X,
            y,
            classifier=classifier,
            scoring=scoring,
            generalize=generalize,
            device="cpu",
            dtype="float64",
        )
        assert ours.scores.shape == expected.shape
        # Same folds, same classifiers: identical scores up to rounding of decision values.
        np.testing.assert_allclose(ours.scores, expected, atol=1e-9)


@pytest.mark.parametrize("classifier", ["ridge", "lda", "logistic"])
@pytest.mark.parametrize("generalize", [False, True])
def test_binary_scores_match_mne(rng, classifier, generalize):
    X, y = epochs(rng)
    assert_scores_match_mne(X, y, classifier, ("roc_auc", "accuracy"), generalize)


@pytest.mark.parametrize("classifier", ["ridge", "lda", "logistic"])
def test_multiclass_generalisation_matches_mne(rng, classifier):
    X, y = epochs(rng, n=100, n_classes=4, effect=1.0)
    X += rng.standard_normal((1, X.shape[1], X.shape[2])) * 5.0  # offsets drifting over time
    assert_scores_match_mne(X, y, classifier, ("accuracy", "balanced_accuracy"), True)


@pytest.mark.parametrize("classifier", ["ridge", "lda", "logistic"])
def test_float32_auc_within_tolerance(rng, classifier):
    X, y = epochs(rng)
    expected = mne_scores(X, y, classifier, "roc_auc", False)
    ours = decode_over_time(X.astype(np.float32), y, classifier=classifier, device="cpu")
    # float32 data: decision values change in the 6th digit, which can swap near-ties.
    np.testing.assert_allclose(ours.scores, expected, atol=0.01)


@pytest.mark.parametrize("classifier", ["ridge", "lda", "logistic"])
def test_multiclass_one_vs_rest_auc(rng, classifier):
    X, y = epochs(rng, n=120, n_classes=3, effect=1.0)
    ours = decode_over_time(X, y, classifier=classifier, cv=4, device="cpu", dtype="float64")
    balanced = decode_over_time(
        X,
        y,
        classifier=classifier,
        cv=4,
        scoring="balanced_accuracy",
        device="cpu",
        dtype="float64",
    )
    for fold, (train, test) in enumerate(ours.folds):
        for t in (0, 6):
            model = make_pipeline(StandardScaler(), REFERENCES[classifier]())
            model.fit(X[train, :, t], y[train])
            decision = model.decision_function(X[test, :, t])
            expected = np.mean([roc_auc_score(y[test] == k, decision[:, k]) for k in range(3)])
            assert ours.scores[fold, t] == pytest.approx(expected, abs=1e-9)
            predicted = model.predict(X[test, :, t])
            recall = np.mean([(predicted[y[test] == k] == k).mean() for k in range(3)])
            assert balanced.scores[fold, t] == pytest.approx(recall, abs=1e-9)


@pytest.mark.parametrize(
    ("ours", "reference"),
    [
        (RidgeClassifierDecoder(alpha=3.0), RidgeClassifier(alpha=3.0)),
        (
            RidgeClassifierDecoder(class_weight="balanced"),
            RidgeClassifier(class_weight="balanced"),
        ),
        (LDADecoder(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
        (
            LDADecoder("oas"),
            LinearDiscriminantAnalysis(solver="lsqr", covariance_estimator=OAS()),
        ),
        (LDADecoder(0.3), LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.3)),
        (
            LDADecoder(priors="balanced"),
            LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=[1 / 3] * 3),
        ),
        (LogisticDecoder(C=0.5), LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000)),
        (
            LogisticDecoder(class_weight="balanced"),
            LogisticRegression(class_weight="balanced", tol=1e-12, max_iter=10_000),
        ),
    ],
    ids=lambda value: type(value).__name__,
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_decision_values_match_sklearn(rng, ours, reference, n_classes):
    n = 75
    y = rng.choice(
        n_classes, n, p=np.linspace(1, 2, n_classes) / np.linspace(1, 2, n_classes).sum()
    )
    X = rng.standard_normal((n, 5)) * [1.0, 10.0, 0.1, 1.0, 3.0] + 5.0
    X[:, 0] += y
    if isinstance(reference, LinearDiscriminantAnalysis) and reference.priors is not None:
        reference.set_params(priors=[1 / n_classes] * n_classes)
    expected = make_pipeline(StandardScaler(), reference).fit(X, y).decision_function(X)
    decoder = ours.set_params(device="cpu", dtype="float64").fit(X, y)
    # float64 closed forms agree to rounding; logistic to the optimiser tolerance.
    tolerance = 1e-6 if isinstance(ours, LogisticDecoder) else 1e-9
    np.testing.assert_allclose(decoder.decision_function(X), expected, atol=tolerance)


def test_sliding_window_is_a_flattened_window(rng):
    X, y = epochs(rng, n_times=10)
    ours = decode_over_time(X, y, window=3, device="cpu", dtype="float64")
    assert ours.scores.shape == (5, 8)
    windows = np.stack([X[:, :, t : t + 3].reshape(len(X), -1) for t in range(8)], -1)
    expected = mne_scores(windows, y, "ridge", "roc_auc", False)
    np.testing.assert_allclose(ours.scores, expected, atol=1e-9)


def test_seeded_folds_are_reproducible_and_grouped(rng):
    X, y = epochs(rng, n=60)
    groups = np.repeat(np.arange(30), 2)
    y = np.repeat(np.arange(30) % 2, 2)
    first = decode_over_time(X, y, groups=groups, seed=3, device="cpu")
    second = decode_over_time(X, y, groups=groups, seed=3, device="cpu")
    np.testing.assert_array_equal(first.scores, second.scores)
    for train, test in first.folds:
        assert not set(groups[train]) & set(groups[test])


@pytest.mark.parametrize("classifier", ["ridge", "logistic"])
def test_balanced_class_weights_match_mne(rng, classifier):
    X, _ = epochs(rng, n=90)
    y = (np.arange(90) % 3 == 0).astype(int)  # one third positive
    X[y == 1, 0, 4:] += 0.6
    reference = {
        "ridge": RidgeClassifier(class_weight="balanced"),
        "logistic": LogisticRegression(class_weight="balanced", tol=1e-10, max_iter=10_000),
    }[classifier]
    estimator = mne_decoding.SlidingEstimator(
        make_pipeline(StandardScaler(), reference), scoring="balanced_accuracy", verbose=False
    )
    expected = mne_decoding.cross_val_multiscore(estimator, X, y, cv=StratifiedKFold(5))
    ours = decode_over_time(
        X,
        y,
        classifier=classifier,
        scoring="balanced_accuracy",
        class_weight="balanced",
        device="cpu",
        dtype="float64",
    )
    np.testing.assert_allclose(ours.scores, expected, atol=1e-9)
