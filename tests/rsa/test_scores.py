"""The labelled front door rsa_scores()."""

import numpy as np
import pytest

from neuroalign.data import activations, responses
from neuroalign.exceptions import EmptyOverlapError
from neuroalign.rsa import compare, compute_rdms, rsa_scores

IDS = [f"img{i:02d}" for i in range(14)]


@pytest.fixture
def world(rng):
    early = activations(rng.normal(size=(14, 30)), IDS, model="net", layer="early")
    late = activations(rng.normal(size=(14, 30)), IDS, model="net", layer="late")
    subjects = {}
    for name in ("s1", "s2", "s3"):
        signal = late.values @ rng.normal(size=(30, 8))
        noisy = np.concatenate([signal, signal]) + 2 * rng.normal(size=(28, 8))
        subjects[name] = responses(noisy, IDS * 2, modality="fmri", subject=name)
    return {"early": early, "late": late}, subjects


def test_brain_model_table(world):
    layers, subjects = world
    table = rsa_scores(layers, subjects, n_bootstrap=40, seed=0)
    assert table.shape[0] == 6
    assert table.columns[:10].tolist() == [
        "source_a", "source_b", "method", "rdm_method", "score", "se",
        "ci_low", "ci_high", "ceiling_low", "ceiling_high",
    ]  # fmt: skip
    assert (table.n_stimuli == 14).all() and table.ceiling_low.isna().all()
    late = table[table.source_a == "late"].score.mean()
    early = table[table.source_a == "early"].score.mean()
    assert late > early
    expected = compare(
        compute_rdms({"late": layers["late"]}), compute_rdms({"s1": subjects["s1"]})
    )[0, 0]
    row = table[(table.source_a == "late") & (table.source_b == "s1")]
    np.testing.assert_allclose(row.score, expected, rtol=1e-6)


def test_pooled_subjects_with_noise_ceiling(world):
    layers, subjects = world
    table = rsa_scores(
        layers, subjects, pool_subjects=True, bootstrap="both", n_bootstrap=30, seed=1
    )
    assert table.source_b.unique().tolist() == ["s1,s2,s3"]
    assert (table.ceiling_low <= table.ceiling_high).all()
    assert (table.ci_low <= table.ci_high).all()


def test_model_model_and_shared_stimuli(world):
    layers, _ = world
    partial = layers["late"].isel(presentation=slice(0, 10))
    table = rsa_scores({"early": layers["early"]}, {"late": partial}, bootstrap=None)
    assert table.n_stimuli.tolist() == [10]


def test_bad_input(world):
    layers, subjects = world
    other = activations(
        np.ones((3, 2)) * np.arange(3)[:, None], ["x", "y", "z"], model="m", layer="l"
    )
    with pytest.raises(EmptyOverlapError, match="share no stimulus_id"):
        rsa_scores(layers, {"x": other})
    with pytest.raises(ValueError, match="needs pool_subjects=True"):
        rsa_scores(layers, subjects, bootstrap="rdm")
    with pytest.raises(TypeError, match="mapping of name to DataArray"):
        rsa_scores([layers["early"]], subjects)
