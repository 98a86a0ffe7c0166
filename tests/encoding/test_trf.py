"""TemporalReceptiveField: kernel recovery, agreement with scikit-learn, EEG latencies.

Tolerances: in float64 the TRF equals scikit-learn's ``Ridge`` on the same lagged
design at each output's chosen alpha within 1e-8 relative (coefficients and
predictions). A simulated kernel's peak is recovered at its exact lag. On the
synthetic world (100 Hz) the TRFs of the early and late feature regressors peak within
±20 ms (two samples) of the simulator's source latencies, 0.10 s and 0.20 s.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

import neuroalign
from neuroalign.encoding import TemporalReceptiveField, make_delays
from neuroalign.exceptions import DimensionError, NotFittedError

SFREQ = 100.0
ALPHAS = np.logspace(-2, 6, 9)


ORDER_MATTERS = "samples are time points: reordering or subsetting them changes the lags"


@parametrize_with_checks(
    [TemporalReceptiveField(0.0, 0.02, SFREQ, alphas=(0.1, 1.0, 10.0), cv=3, device="cpu")],
    expected_failed_checks=lambda _: {
        "check_methods_sample_order_invariance": ORDER_MATTERS,
        "check_methods_subset_invariance": ORDER_MATTERS,
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _bump(times, latency, width):
    return np.exp(-((times - latency) ** 2) / (2 * width**2))


def _convolved(rng, n_times, kernels, delays, noise):
    """Y = sum_f (x_f * kernel_f) + noise for white-noise features x."""
    X = rng.standard_normal((n_times, len(kernels)))
    design = make_delays(X, delays).reshape(n_times, len(kernels), len(delays))
    Y = np.einsum("tfk,fk->t", design, np.array(kernels))
    return X, Y + noise * rng.standard_normal(n_times)


def test_recovers_a_known_kernel(rng):
    trf = TemporalReceptiveField(-0.05, 0.25, SFREQ, alphas=ALPHAS, device="cpu")
    times = np.arange(-5, 26) / SFREQ
    kernels = [_bump(times, 0.05, 0.015), -_bump(times, 0.12, 0.03)]
    X, y = _convolved(rng, 3000, kernels, np.arange(-5, 26), noise=1.0)
    trf.fit(X, y)
    assert trf.coef_.shape == (1, 2, 31) and trf.delays_.tolist() == list(range(-5, 26))
    np.testing.assert_allclose(trf.times_[np.abs(trf.coef_[0]).argmax(1)], [0.05, 0.12])
    for estimate, truth in zip(trf.coef_[0], kernels):
        assert np.corrcoef(estimate, truth)[0, 1] > 0.98
    assert trf.predict(X).shape == (3000,) and trf.score(X, y) > 0.9


def test_equals_sklearn_ridge_on_the_lagged_design(rng):
    X = rng.standard_normal((600, 3))
    Y = np.stack(
        [
            _convolved(rng, 600, [rng.standard_normal(6)] * 3, np.arange(6), 0.5 + j)[1]
            for j in range(4)
        ],
        axis=1,
    )
    Y += X @ rng.standard_normal((3, 4))
    runs = np.repeat(np.arange(6), 100)
    with neuroalign.config(dtype="float64"):
        trf = TemporalReceptiveField(0.0, 0.05, SFREQ, alphas=ALPHAS, device="cpu")
        trf.fit(X, Y, groups=runs)
    design = make_delays(X, np.arange(6), groups=runs)
    for j, alpha in enumerate(trf.best_alphas_):
        reference = Ridge(alpha=alpha).fit(design, Y[:, j])
        np.testing.assert_allclose(
            trf.coef_[j].ravel(),
            reference.coef_,
            rtol=1e-8,
            atol=1e-10 * np.abs(reference.coef_).max(),
        )
        np.testing.assert_allclose(trf.intercept_[j], reference.intercept_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(
            trf.predict(X, groups=runs)[:, j], reference.predict(design), rtol=1e-8, atol=1e-8
        )
    assert len(set(trf.best_alphas_)) > 1  # outputs got their own alphas


def test_epochs_equal_runs_of_a_continuous_recording(rng):
    X, Y = rng.standard_normal((8, 30, 2)), rng.standard_normal((8, 30, 3))
    kwargs = dict(alphas=ALPHAS, cv=4, device="cpu")
    epochs = TemporalReceptiveField(-0.02, 0.05, SFREQ, **kwargs).fit(X, Y)
    runs = np.repeat(np.arange(8), 30)
    continuous = TemporalReceptiveField(-0.02, 0.05, SFREQ, **kwargs).fit(
        X.reshape(240, 2), Y.reshape(240, 3), groups=runs
    )
    np.testing.assert_array_equal(epochs.coef_, continuous.coef_)
    assert epochs.predict(X).shape == (8, 30, 3)
    np.testing.assert_array_equal(
        epochs.predict(X).reshape(240, 3), continuous.predict(X.reshape(240, 2), groups=runs)
    )


def test_continuous_folds_are_delay_blocks(rng):
    X, y = rng.standard_normal((100, 2)), rng.standard_normal(100)
    blocks = np.repeat(np.arange(5), 20)
    implicit = TemporalReceptiveField(0.0, 0.03, SFREQ, alphas=ALPHAS, device="cpu").fit(X, y)
    explicit = TemporalReceptiveField(0.0, 0.03, SFREQ, alphas=ALPHAS, device="cpu").fit(
        X, y, groups=blocks
    )
    np.testing.assert_array_equal(implicit.coef_, explicit.coef_)
    np.testing.assert_array_equal(implicit.cv_scores_, explicit.cv_scores_)


def test_bad_input_and_unfitted(rng):
    trf = TemporalReceptiveField(0.0, 0.02, SFREQ, device="cpu")
    with pytest.raises(NotFittedError):
        trf.predict(np.zeros((10, 2)))
    with pytest.raises(DimensionError, match="'y' must have shape \\(10,\\)"):
        trf.fit(np.zeros((10, 2)), np.zeros((9, 2)))
    with pytest.raises(DimensionError, match="'X' must be 2-D"):
        trf.fit(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="'tmin' must not exceed 'tmax'"):
        TemporalReceptiveField(0.1, 0.0, SFREQ).fit(np.zeros((10, 1)), np.zeros(10))
    with pytest.raises(ValueError, match="'scoring' must be one of"):
        TemporalReceptiveField(0.0, 0.1, SFREQ, scoring="r").fit(np.zeros((10, 1)), np.zeros(10))
    trf.fit(rng.standard_normal((50, 2)), rng.standard_normal(50))
    with pytest.raises(
        DimensionError, match="X has 3 features, but TemporalReceptiveField is expecting 2"
    ):
        trf.predict(np.zeros((10, 3)))


def _stage_regressors(world):
    """Per presentation: a constant, 5 PCs of the early features, the late (category) features."""
    with torch.no_grad():
        features = world.features(torch.as_tensor(world.stimuli.images, dtype=torch.float32))

    def standardised(values):
        values = values.reshape(len(values), -1).numpy().astype(np.float64)
        return (values - values.mean(0)) / values.std(0)

    early = standardised(features["early"])
    u, s, _ = np.linalg.svd(early, full_matrices=False)
    stimulus = {sid: i for i, sid in enumerate(world.stimuli.stimulus_ids)}
    rows = [stimulus[sid] for sid in world.eeg.stimulus_id.values]
    constant = np.ones((len(stimulus), 1))
    late = standardised(features["late"])
    return np.hstack([constant, u[:, :5] * s[:5], late])[rows], slice(1, 6), slice(6, None)


def test_recovers_eeg_source_latencies_of_the_synthetic_world():
    from data_adapters.synthetic import make_world

    world = make_world(seed=0, quick=True, n_per_category=16, n_subjects=1)
    eeg = world.eeg.transpose("presentation", "time", "neuroid")
    regressors, early, late = _stage_regressors(world)
    onset = int(np.argmin(np.abs(eeg.time.values)))
    impulses = np.zeros((eeg.sizes["presentation"], eeg.sizes["time"], regressors.shape[1]))
    impulses[:, onset] = regressors  # an event design: one impulse per stimulus onset
    trf = TemporalReceptiveField(0.0, 0.4, 100.0, alphas=ALPHAS, device="cpu")
    trf.fit(impulses, eeg.values, groups=eeg.stimulus_id.values)
    power = (trf.coef_**2).sum(0)  # over channels: (regressor, lag)
    truth = world.truth.source_latencies
    assert abs(trf.times_[power[early].sum(0).argmax()] - truth["early"]) <= 0.02 + 1e-9
    assert abs(trf.times_[power[late].sum(0).argmax()] - truth["late"]) <= 0.02 + 1e-9
