"""Noise ceilings: NCSNR, noise ceilings, Spearman-Brown and split-half reliability.

Formula checks use float64 and a tolerance of 1e-12. Recovery checks simulate data
with known signal and noise variances and compare the estimate with the truth in
units of the estimator's standard error (delta method on the one-way ANOVA mean
squares, see ``_ncsnr_se``): every neuroid within 4.5 standard errors and the mean
error across neuroids within 0.3 standard errors (about 4 standard errors of that
mean for 100-200 independent neuroids).
"""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

import neuroalign.stats._ceilings as ceilings_module
from data_adapters.synthetic import make_world
from neuroalign.data import responses
from neuroalign.exceptions import NeuroalignWarning
from neuroalign.stats import (
    correlation_ceiling,
    ncsnr,
    noise_ceiling,
    noise_ceiling_from_responses,
    spearman_brown,
    split_half_reliability,
)

ATOL = 1e-12


def _simulate(rng, *, n_stimuli, n_reps, n_neuroids):
    """``data = signal[stimulus] + noise`` with known per-neuroid standard deviations.

    ``n_reps`` is an int or an array of repetitions per stimulus.
    """
    signal_sd = rng.uniform(0.5, 2.0, n_neuroids)
    noise_sd = rng.uniform(0.5, 1.5, n_neuroids)
    signal = rng.standard_normal((n_stimuli, n_neuroids)) * signal_sd
    reps = np.broadcast_to(n_reps, (n_stimuli,))
    ids = rng.permutation(np.repeat(np.arange(n_stimuli), reps))
    data = signal[ids] + rng.standard_normal((len(ids), n_neuroids)) * noise_sd
    return data, ids, signal_sd, noise_sd


def _ncsnr_se(signal_var, noise_var, n_stimuli, n_reps):
    """Delta-method standard error of the ANOVA NCSNR (balanced design, normal data).

    Mean squares: between ``MSB`` with ``E = noise + r * signal`` and ``n_stimuli - 1``
    degrees of freedom, within ``MSW`` with ``E = noise`` and ``n_stimuli * (r - 1)``;
    ``signal_hat = (MSB - MSW) / r``, ``noise_hat = MSW``, independent, and
    ``Var(log ncsnr) = (Var(signal_hat) / signal² + Var(noise_hat) / noise²) / 4``.
    """
    df_within = n_stimuli * (n_reps - 1)
    var_noise_hat = 2 * noise_var**2 / df_within
    var_signal_hat = (
        2 * (noise_var + n_reps * signal_var) ** 2 / (n_stimuli - 1) + var_noise_hat
    ) / n_reps**2
    snr = np.sqrt(signal_var / noise_var)
    return snr / 2 * np.sqrt(var_signal_hat / signal_var**2 + var_noise_hat / noise_var**2)


def _assert_within_sampling_error(estimate, truth, se):
    z = (estimate - truth) / se
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    assert abs(z.mean()) < 0.3, z.mean()


def _ncsnr_loop(data, ids):
    """The documented estimator, one stimulus at a time (single presentations dropped)."""
    codes, _ = pd.factorize(ids)
    groups = [data[codes == c] for c in range(codes.max() + 1) if (codes == c).sum() >= 2]
    within = sum(((g - g.mean(0)) ** 2).sum(0) for g in groups)
    noise_var = within / (sum(len(g) for g in groups) - len(groups))
    means = np.stack([g.mean(0) for g in groups])
    inverse_reps = np.mean([1.0 / len(g) for g in groups])
    signal_var = np.maximum(means.var(0, ddof=1) - noise_var * inverse_reps, 0.0)
    return np.sqrt(signal_var / noise_var)


# --- NCSNR ---------------------------------------------------------------------------------


def test_ncsnr_matches_the_documented_formula_with_unequal_repetitions(rng):
    data, ids, _, _ = _simulate(rng, n_stimuli=30, n_reps=rng.integers(2, 6, 30), n_neuroids=6)
    np.testing.assert_allclose(ncsnr(data, ids), _ncsnr_loop(data, ids), rtol=0, atol=ATOL)
    # Balanced: the noise variance is NSD's mean over stimuli of the variance (ddof=1).
    data, ids, _, _ = _simulate(rng, n_stimuli=30, n_reps=3, n_neuroids=6)
    np.testing.assert_allclose(ncsnr(data, ids), _ncsnr_loop(data, ids), rtol=0, atol=ATOL)


def test_ncsnr_recovers_known_snr(rng):
    n_stimuli, n_reps = 400, 4
    data, ids, signal_sd, noise_sd = _simulate(
        rng, n_stimuli=n_stimuli, n_reps=n_reps, n_neuroids=200
    )
    estimate = ncsnr(data, ids)
    se = _ncsnr_se(signal_sd**2, noise_sd**2, n_stimuli, n_reps)
    _assert_within_sampling_error(estimate, signal_sd / noise_sd, se)


def test_ncsnr_recovers_known_snr_with_unequal_repetitions(rng):
    n_stimuli = 400
    reps = rng.integers(2, 7, n_stimuli)
    data, ids, signal_sd, noise_sd = _simulate(
        rng, n_stimuli=n_stimuli, n_reps=reps, n_neuroids=200
    )
    # Balanced-design error with the harmonic mean count: a close approximation here.
    harmonic = len(reps) / (1.0 / reps).sum()
    se = _ncsnr_se(signal_sd**2, noise_sd**2, n_stimuli, harmonic)
    _assert_within_sampling_error(ncsnr(data, ids), signal_sd / noise_sd, se)


def test_ncsnr_is_scale_free_and_handles_time_and_torch(rng):
    data, ids, _, _ = _simulate(rng, n_stimuli=20, n_reps=3, n_neuroids=8)
    base = ncsnr(data, ids)
    np.testing.assert_allclose(ncsnr(5.0 * data + 3.0, ids), base, rtol=1e-12)
    with_time = np.stack([data, 2.0 * data], axis=-1)  # (presentation, neuroid, time)
    by_time = ncsnr(with_time, ids)
    assert by_time.shape == (8, 2)
    np.testing.assert_allclose(by_time, np.stack([base, base], -1), rtol=1e-12)
    as_tensor = ncsnr(torch.as_tensor(data, dtype=torch.float32), ids)
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.float32
    np.testing.assert_allclose(as_tensor.numpy(), base, rtol=1e-5)


def test_ncsnr_leaves_out_single_presentations_with_a_warning(rng):
    data, ids, _, _ = _simulate(rng, n_stimuli=20, n_reps=3, n_neuroids=4)
    extra = rng.standard_normal((2, 4))
    with pytest.warns(NeuroalignWarning, match="left out 2 of 22 stimuli"):
        estimate = ncsnr(np.concatenate([data, extra]), np.concatenate([ids, [100, 101]]))
    np.testing.assert_allclose(estimate, ncsnr(data, ids), rtol=0, atol=ATOL)


def test_ncsnr_edge_cases_and_errors():
    ids = np.array(["a", "a", "b", "b", "c", "c"])
    data = np.array(
        [[1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 5.0, 3.0], [1.0, 6.0, 3.0], [1.0, 9.0, 2.0]]
        + [[1.0, 8.0, 2.0]]
    )
    value = ncsnr(data, ids)
    assert value[0] == 0.0  # constant neuroid: no signal
    assert value[1] > 0 and np.isinf(value[2])  # identical repetitions: no noise
    assert noise_ceiling(value, 2)[2] == 100.0 and correlation_ceiling(value, 2)[2] == 1.0
    with pytest.raises(ValueError, match=r"'stimulus_ids' must be 1-D .* 6\); got shape \(5,\)"):
        ncsnr(data, ids[:5])
    with pytest.raises(ValueError, match="at least 2 stimuli shown at least twice; got 1"):
        ncsnr(data[:3], ["a", "a", "b"])


# --- ceilings from the NCSNR ----------------------------------------------------------------


def test_noise_ceiling_formulas():
    snr = np.array([0.0, 0.5, 1.0, 2.0])
    for n in (1, 3, 2.5):
        expected = 100 * snr**2 / (snr**2 + 1 / n)
        np.testing.assert_allclose(noise_ceiling(snr, n), expected, rtol=0, atol=ATOL)
        np.testing.assert_allclose(
            correlation_ceiling(snr, n), np.sqrt(expected / 100), rtol=0, atol=ATOL
        )
    assert noise_ceiling(1.0, 3) == 75.0
    per_target_n = noise_ceiling(np.ones(2), np.array([1, 3]))
    np.testing.assert_allclose(per_target_n, [50.0, 75.0])
    as_tensor = noise_ceiling(torch.tensor([1.0]), 3)
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.float32
    with pytest.raises(ValueError, match="'ncsnr' must be >= 0"):
        noise_ceiling(np.array([-0.1, 1.0]), 1)
    for bad in (0, -2.0, "three", math.nan):
        with pytest.raises(ValueError, match="'n_averaged' must be a positive number"):
            correlation_ceiling(1.0, bad)


def test_noise_ceiling_from_responses_keeps_labels(rng):
    data, ids, _, _ = _simulate(rng, n_stimuli=15, n_reps=3, n_neuroids=4)
    with_time = np.stack([data, -data], axis=-1)
    da = responses(
        with_time,
        [f"img_{i:02d}" for i in ids],
        times=[0.1, 0.2],
        regions=["V1", "V1", "V4", "V4"],
        modality="eeg",
        subject="sub-01",
    )
    ceilings = noise_ceiling_from_responses(da)
    assert set(ceilings.data_vars) == {"ncsnr", "noise_ceiling", "correlation_ceiling"}
    assert ceilings.ncsnr.dims == ("neuroid", "time")
    assert ceilings.region.values.tolist() == ["V1", "V1", "V4", "V4"]
    assert ceilings.attrs["n_averaged"] == 3.0 and ceilings.attrs["subject"] == "sub-01"
    expected = ncsnr(with_time, ids)
    np.testing.assert_allclose(ceilings.ncsnr.values, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ceilings.noise_ceiling.values, noise_ceiling(expected, 3))
    # Unequal counts: the default n_averaged is their harmonic mean (2 and 4 -> 8/3).
    uneven = responses(data[:6], ["a", "a", "b", "b", "b", "b"], modality="fmri")
    assert noise_ceiling_from_responses(uneven).attrs["n_averaged"] == pytest.approx(8 / 3)


# --- Spearman-Brown and split halves --------------------------------------------------------


def test_spearman_brown_formula():
    r = np.linspace(-0.3, 1.0, 27)  # away from the poles at -1/(factor - 1)
    np.testing.assert_allclose(spearman_brown(r), 2 * r / (1 + r), rtol=0, atol=ATOL)
    np.testing.assert_allclose(
        spearman_brown(r, factor=3.0), 3 * r / (1 + 2 * r), rtol=0, atol=ATOL
    )
    np.testing.assert_allclose(spearman_brown(spearman_brown(r, 4.0), 0.25), r, rtol=0, atol=ATOL)
    assert spearman_brown(1.0) == 1.0 and spearman_brown(0.0) == 0.0
    as_tensor = spearman_brown(torch.tensor([0.5], dtype=torch.float32))
    assert as_tensor.dtype == torch.float32
    assert as_tensor.item() == pytest.approx(2 / 3)
    for factor in (0, -1.0, math.inf, "2"):
        with pytest.raises(ValueError, match="'factor' must be a positive finite number"):
            spearman_brown(0.5, factor)


def _split_half_loop(data, ids, n_splits, seed):
    """The documented split rule, one split and one stimulus at a time."""
    codes, _ = pd.factorize(ids)
    counts = np.bincount(codes)
    rows = np.flatnonzero(counts[codes] >= 2)
    keys = np.random.default_rng(seed).random((n_splits, len(rows)))
    kept = codes[rows]
    stimuli = pd.unique(kept)
    correlations = []
    for k in range(n_splits):
        first, second = [], []
        for s in stimuli:
            members = np.flatnonzero(kept == s)
            ordered = rows[members[np.argsort(keys[k, members])]]
            half = math.ceil(len(members) / 2)
            first.append(data[ordered[:half]].mean(0))
            second.append(data[ordered[half:]].mean(0))
        correlations.append(scipy.stats.pearsonr(np.array(first), np.array(second), axis=0)[0])
    r = np.mean(correlations, axis=0)
    return 2 * r / (1 + r)


def test_split_half_matches_the_documented_splits(rng):
    data, ids, _, _ = _simulate(rng, n_stimuli=25, n_reps=rng.integers(2, 6, 25), n_neuroids=5)
    reliability = split_half_reliability(data, ids, n_splits=12, seed=7)
    expected = _split_half_loop(data, ids, n_splits=12, seed=7)
    np.testing.assert_allclose(reliability, expected, rtol=0, atol=ATOL)


def test_split_half_batches_do_not_change_the_result(rng, monkeypatch):
    data, ids, _, _ = _simulate(rng, n_stimuli=20, n_reps=4, n_neuroids=3)
    whole = split_half_reliability(data, ids, n_splits=10, seed=3)
    monkeypatch.setattr(
        ceilings_module,
        "plan_batches",
        lambda n, *args, **kwargs: [slice(i, min(n, i + 3)) for i in range(0, n, 3)],
    )
    batched = split_half_reliability(data, ids, n_splits=10, seed=3)
    np.testing.assert_allclose(batched, whole, rtol=0, atol=ATOL)


def test_split_half_recovers_the_reliability_of_the_average(rng):
    # 4 repetitions: halves of 2, so Spearman-Brown is exact in expectation.
    n_stimuli, n_reps = 300, 4
    data, ids, signal_sd, noise_sd = _simulate(
        rng, n_stimuli=n_stimuli, n_reps=n_reps, n_neuroids=100
    )
    reliability = split_half_reliability(data, ids, n_splits=20, seed=0)
    truth = noise_ceiling(signal_sd / noise_sd, n_reps) / 100
    # Standard error of a correlation (Fisher), inflated by the correction's slope
    # 2 / (1 + r)²: at most about 0.06 here; 4 standard errors per neuroid.
    half_r = truth / (2 - truth)
    se = (1 - half_r**2) / math.sqrt(n_stimuli - 3) * 2 / (1 + half_r) ** 2
    assert np.all(np.abs(reliability - truth) < 4 * se)
    assert abs(np.mean(reliability - truth)) < 0.01
    # The two estimators of the same quantity agree.
    from_ncsnr = noise_ceiling(ncsnr(data, ids), n_reps) / 100
    assert np.all(np.abs(reliability - from_ncsnr) < 4 * se)


def test_split_half_errors_and_warnings(rng):
    with pytest.raises(ValueError, match="'n_splits' must be >= 1; got 0"):
        split_half_reliability(np.ones((4, 2)), [0, 0, 1, 1], n_splits=0)
    constant = np.zeros((6, 2))
    constant[:, 1] = [1.0, 2.0, 3.0, 1.5, 2.5, 3.5]
    with pytest.warns(NeuroalignWarning, match="1 of 2 neuroids had a constant half-average"):
        reliability = split_half_reliability(constant, [0, 1, 2, 0, 1, 2], n_splits=2, seed=0)
    assert reliability[0] == 0.0


# --- the synthetic world: the simulator's noise is known ------------------------------------


@pytest.fixture(scope="module")
def fmri_world():
    """60 stimuli, 4 repetitions, 90 voxels with noise 1.0 x per-voxel scale."""
    world = make_world(quick=True, n_per_category=12, n_subjects=1, n_repetitions=4, seed=1)
    subject = world.subjects["fmri"]["sub-01"]
    with torch.no_grad():
        signal = subject.respond(torch.as_tensor(world.stimuli.images)).numpy().astype(float)
    return world.fmri["sub-01"], signal, 1.0 * subject.noise_scale


def test_ncsnr_matches_the_synthetic_worlds_noise(fmri_world):
    recording, signal, noise_sd = fmri_world
    n_stimuli, n_reps = signal.shape[0], 4
    signal_var = signal.var(0, ddof=1)  # the stimuli are fixed: their own signal variance
    truth = np.sqrt(signal_var) / noise_sd
    ceilings = noise_ceiling_from_responses(recording)
    assert ceilings.attrs["n_averaged"] == n_reps
    se = _ncsnr_se(signal_var, noise_sd**2, n_stimuli, n_reps)  # conservative here
    _assert_within_sampling_error(ceilings.ncsnr.values, truth, se)
    # The ceiling in percent, with the NCSNR's error carried through d(ceiling)/d(ncsnr).
    inverse_n = 1.0 / n_reps
    slope = 100 * 2 * truth * inverse_n / (truth**2 + inverse_n) ** 2
    _assert_within_sampling_error(
        ceilings.noise_ceiling.values, noise_ceiling(truth, n_reps), slope * se
    )
