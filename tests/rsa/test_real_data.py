"""Published RSA results on the Kriegeskorte et al. (2008) 92-image data set.

The data (RDMs only) live in ``shared/data/kriegeskorte2008_92images`` beside the
repository (or under ``$NEUROALIGN_SHARED_DATA``); the tests skip when absent.

- Kriegeskorte et al. 2008 (Neuron 60:1126), Fig. 1: the monkey-IT (674 neurons)
  and human-IT (316 voxels) RDMs correlate at r = 0.49.
- Nili et al. 2014 (PLoS Comput Biol 10:e1003553), the toolbox demo on the four
  session-averaged hIT subjects with Spearman: categorical models lead, monkey IT
  and similarity judgements follow, low-level models (V1, RADON, silhouette) last.
- Mur et al. 2013 (Front Psychol 4:128): hIT is more similar to monkey IT than to
  human similarity judgements.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from neuroalign.rsa import as_rdms, compare, evaluate

DATASET = "kriegeskorte2008_92images"


def _data_dir():
    root = os.environ.get("NEUROALIGN_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return base / DATASET


@pytest.fixture(scope="module")
def data():
    path = _data_dir() / "92images_converted.npz"
    if not path.exists():
        pytest.skip(f"{DATASET} not found at {path.parent} (set NEUROALIGN_SHARED_DATA).")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files if key != "images"}


def test_monkey_and_human_it_correlate_as_published(data):
    r = compare(
        data["rdmvec_mIT_674neurons_fig1"], data["rdmvec_hIT_316voxels_fig1"], method="pearson"
    )
    assert r.shape == (1, 1)
    assert abs(r[0, 0] - 0.49) < 0.005


def test_model_ranking_of_nili_2014(data):
    names = {
        "animacy": "model_animacy",
        "face_animate_inanimate": "model_faceAnimateInaniClusters",
        "face_body_natural_artificial": "model_FaceBodyManmadeNatobj",
        "monkey_it": "model_monkeyIT",
        "early_visual": "model_EVA",
        "similarity_judgements": None,
        "v1": "model_V1",
        "radon": "model_RADON",
        "silhouette": "model_Silhouette",
    }
    rdms = [
        data["behav_simjudge_rdms"].mean(0) if key is None else data[key].astype(float)
        for key in names.values()
    ]
    models = as_rdms(np.stack(rdms), sources=list(names))
    subjects = data["hIT_session_rdms"].mean(1)
    result = evaluate(models, subjects, method="spearman", n_bootstrap=100, seed=0)
    scores = dict(zip(result.models, result.scores))
    ranking = sorted(scores, key=scores.get, reverse=True)
    assert set(ranking[:2]) == {"animacy", "face_animate_inanimate"}
    assert set(ranking[-3:]) == {"v1", "radon", "silhouette"}
    assert min(scores["monkey_it"], scores["similarity_judgements"]) > max(
        scores[k] for k in ("v1", "radon", "silhouette")
    )
    lower, upper = result.noise_ceiling
    assert 0 < lower < upper < 1
    assert scores["face_animate_inanimate"] > lower
    best, worst = result.models.index("face_animate_inanimate"), result.models.index("v1")
    assert result.p_pairwise_corrected[best, worst] < 0.01


def test_human_it_closer_to_monkey_it_than_to_judgements(data):
    human_it = data["hIT_session_rdms"].mean((0, 1))[None]
    monkey_it = compare(human_it, data["model_monkeyIT"][None], method="spearman")[0, 0]
    judgements = compare(human_it, data["behav_simjudge_rdms"].mean(0)[None], method="spearman")
    assert monkey_it > judgements[0, 0]
