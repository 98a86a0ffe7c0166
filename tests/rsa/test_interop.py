"""Round trips between labelled RDMs and rsatoolbox ``RDMs``."""

import numpy as np
import pytest
import xarray as xr

from neuroalign.data import responses
from neuroalign.rsa import as_rdms, compare, compute_rdms, from_rsatoolbox, to_rsatoolbox

rsatoolbox = pytest.importorskip("rsatoolbox")


@pytest.fixture
def rdms(rng):
    ids = [f"img{i}" for i in range(6)] * 2
    recording = responses(rng.normal(size=(12, 5)), ids, modality="fmri", subject="s1")
    return compute_rdms({"V1": recording, "IT": recording * 2 + 1}, method="crossnobis")


def test_round_trip_is_identical(rdms):
    converted = to_rsatoolbox(rdms)
    assert converted.n_rdm == 2 and converted.n_cond == 6
    assert converted.dissimilarity_measure == "crossnobis"
    assert converted.pattern_descriptors["stimulus_id"][0] == "img0"
    xr.testing.assert_identical(from_rsatoolbox(converted), rdms)


def test_rsatoolbox_computations_agree(rdms):
    converted = to_rsatoolbox(rdms)
    expected = rsatoolbox.rdm.compare(converted, converted, method="rho-a")
    np.testing.assert_allclose(compare(rdms, rdms, method="rho_a"), expected, atol=1e-12)
    np.testing.assert_allclose(compare(converted, rdms, method="rho_a"), expected, atol=1e-12)


def test_from_rsatoolbox_calc_rdm(rng):
    dataset = rsatoolbox.data.Dataset(
        rng.normal(size=(5, 4)),
        obs_descriptors={"conds": ["a", "b", "c", "d", "e"]},
        descriptors={"subj": "01"},
    )
    reference = rsatoolbox.rdm.calc_rdm(dataset, method="euclidean", descriptor="conds")
    labelled = as_rdms(reference)
    assert labelled.attrs["dissimilarity"] == "squared euclidean"
    assert labelled.stimulus_a.values.tolist()[:2] == ["a", "a"]
    np.testing.assert_allclose(labelled.values, reference.get_vectors())


def test_missing_descriptor_is_named(rdms):
    with pytest.raises(ValueError, match="no rdm descriptor 'subject'.*available"):
        from_rsatoolbox(to_rsatoolbox(rdms), source_descriptor="subject")
