"""Weighted RDM models and cross-validation against rsatoolbox 0.3
(``fit_regress_nn``, ``sets_k_fold`` + ``crossval`` + ``cv_noise_ceiling``).

Tolerance: 1e-10 (float64; the non-negative least-squares solution is unique).
"""

import warnings

import numpy as np
import pytest

from neuroalign.rsa import FixedModel, WeightedModel, crossval, fit_weighted_model
from neuroalign.rsa._compare import RSATOOLBOX_NAMES

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.inference import crossval as reference_crossval  # noqa: E402
from rsatoolbox.inference import sets_k_fold  # noqa: E402
from rsatoolbox.model import ModelFixed, ModelWeighted, fit_regress_nn  # noqa: E402
from rsatoolbox.rdm import RDMs  # noqa: E402

N_STIMULI = 16
N_PAIRS = N_STIMULI * (N_STIMULI - 1) // 2


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    parts = rng.random((3, N_PAIRS))
    data = 2 * parts[0] + parts[2] + 0.5 * rng.random((6, N_PAIRS))
    return parts, data


@pytest.mark.parametrize("method", ["cosine", "pearson", "cosine_cov", "corr_cov"])
def test_fit_matches_fit_regress_nn(problem, method):
    parts, data = problem
    model = ModelWeighted("w", RDMs(parts))
    expected = fit_regress_nn(model, RDMs(data), method=RSATOOLBOX_NAMES[method])
    ours = fit_weighted_model(parts, data, method=method)
    np.testing.assert_allclose(ours, expected, atol=1e-10)
    assert (ours >= 0).all() and np.isclose(np.linalg.norm(ours), 1)


def test_ridge_matches_rsatoolbox(problem):
    parts, data = problem
    model = ModelWeighted("w", RDMs(parts))
    expected = fit_regress_nn(model, RDMs(data), method="corr", ridge_weight=5.0)
    ours = fit_weighted_model(parts, data, method="pearson", ridge=5.0)
    np.testing.assert_allclose(ours, expected, atol=1e-10)
    assert not np.allclose(ours, fit_weighted_model(parts, data, method="pearson"))


@pytest.mark.parametrize("method", ["cosine", "pearson", "corr_cov", "spearman", "rho_a"])
def test_crossval_matches_rsatoolbox(problem, method):
    parts, data = problem
    fixed = np.round(parts[1] * 3)
    weighted = method in ("cosine", "pearson", "corr_cov")
    reference_models = [ModelFixed("f", RDMs(fixed[None]))]
    models = {"f": FixedModel("f", fixed)}
    if weighted:
        reference_models.append(ModelWeighted("w", RDMs(parts)))
        models["w"] = WeightedModel("w", parts)
    np.random.seed(3)
    rdms = RDMs(data)
    train, test, ceil = sets_k_fold(rdms, k_pattern=3, k_rdm=2, random=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference_crossval(
            reference_models,
            rdms,
            train,
            test,
            ceil,
            method=RSATOOLBOX_NAMES[method],
            fitter=[None, fit_regress_nn] if weighted else None,
        )
    result = crossval(models, data, method=method, n_folds=3, n_folds_rdm=2, seed=3)
    np.testing.assert_allclose(result.evaluations, expected.evaluations[0].T, atol=1e-10)
    np.testing.assert_allclose(result.noise_ceiling, expected.noise_ceiling, atol=1e-10)
    assert len(result.folds) == 6
    if weighted:
        assert result.weights["w"].shape == (6, 3)


def test_crossval_prefers_the_true_mixture(problem):
    parts, data = problem
    models = {"mix": WeightedModel("mix", parts), "one": parts[1]}
    result = crossval(models, data, method="pearson", n_folds=4, seed=0)
    assert result.scores[0] > result.scores[1]
    assert result.to_frame().model.tolist() == ["mix", "one"]


def test_bad_input(problem):
    parts, data = problem
    with pytest.raises(ValueError, match="'method' must be one of"):
        fit_weighted_model(parts, data, method="spearman")
    with pytest.raises(ValueError, match="'method' must be one of"):
        crossval([WeightedModel("w", parts)], data, method="rho_a")
    with pytest.raises(ValueError, match="'ridge' must be >= 0"):
        fit_weighted_model(parts, data, ridge=-1)
    with pytest.raises(ValueError, match="Cannot make 40 stimulus folds"):
        crossval([parts[0]], data, n_folds=40)
    with pytest.raises(ValueError, match="has 3 dissimilarities"):
        crossval([FixedModel("short", np.ones(3))], data)
