import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroalign.decoding import (
    GeneralizingDecoder,
    LDADecoder,
    LogisticDecoder,
    RidgeClassifierDecoder,
    SlidingDecoder,
)
from neuroalign.exceptions import DimensionError, NotFittedError


@parametrize_with_checks(
    [
        RidgeClassifierDecoder(device="cpu"),
        LDADecoder(device="cpu"),
        LogisticDecoder(device="cpu"),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_sliding_and_generalizing_match_mne_on_a_held_out_set(rng):
    mne_decoding = pytest.importorskip("mne.decoding")
    y = np.arange(80) % 2
    X = rng.standard_normal((80, 5, 6))
    X[y == 1, 0, 3:] += 0.8
    train, test = np.arange(60), np.arange(60, 80)
    for ours, reference in (
        (LDADecoder(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
        (LogisticDecoder(), LogisticRegression(tol=1e-10, max_iter=10_000)),
        (RidgeClassifierDecoder(), RidgeClassifier()),
    ):
        pipeline = make_pipeline(StandardScaler(), reference)
        sliding = SlidingDecoder(ours, device="cpu", dtype="float64").fit(X[train], y[train])
        expected = mne_decoding.SlidingEstimator(pipeline, scoring="roc_auc", verbose=False)
        expected.fit(X[train], y[train])
        np.testing.assert_allclose(
            sliding.score(X[test], y[test]), expected.score(X[test], y[test])
        )
        np.testing.assert_allclose(
            sliding.decision_function(X[test]), expected.decision_function(X[test]), atol=1e-6
        )
        np.testing.assert_array_equal(sliding.predict(X[test]), expected.predict(X[test]))
        general = GeneralizingDecoder(ours, device="cpu", dtype="float64").fit(X[train], y[train])
        expected = mne_decoding.GeneralizingEstimator(pipeline, scoring="roc_auc", verbose=False)
        expected.fit(X[train], y[train])
        # Test data with fewer time points than the training data.
        np.testing.assert_allclose(
            general.score(X[test, :, :4], y[test]), expected.score(X[test, :, :4], y[test])
        )
        np.testing.assert_array_equal(
            general.predict(X[test, :, :4]), expected.predict(X[test, :, :4])
        )


@pytest.mark.parametrize("scoring", ["accuracy", "balanced_accuracy"])
def test_generalizing_multiclass_scores_match_mne(rng, scoring):
    mne_decoding = pytest.importorskip("mne.decoding")
    y = np.arange(90) % 3
    X = rng.standard_normal((90, 5, 6))
    X[y == 1, 0, 3:] += 1.0
    X[y == 2, 1, 2:] += 1.0
    train, test = np.arange(60), np.arange(60, 90)
    general = GeneralizingDecoder(scoring=scoring, device="cpu", dtype="float64")
    general.fit(X[train], y[train])
    expected = mne_decoding.GeneralizingEstimator(
        make_pipeline(StandardScaler(), RidgeClassifier()), scoring=scoring, verbose=False
    ).fit(X[train], y[train])
    np.testing.assert_allclose(
        general.score(X[test, :, 1:], y[test]), expected.score(X[test, :, 1:], y[test]), atol=1e-12
    )


def test_estimators_store_arguments_only_and_refuse_predict_before_fit(rng):
    decoder = LogisticDecoder(C=2.0, device="cpu")
    assert decoder.get_params()["C"] == 2.0 and not hasattr(decoder, "coef_")
    with pytest.raises(NotFittedError):
        decoder.predict(rng.standard_normal((3, 2)))
    with pytest.raises(DimensionError, match="\\(n_epochs, n_channels, n_times\\)"):
        SlidingDecoder(device="cpu").fit(rng.standard_normal((10, 3)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="'shrinkage' must be one of"):
        LDADecoder("lw", device="cpu").fit(rng.standard_normal((10, 3)), np.arange(10) % 2)
