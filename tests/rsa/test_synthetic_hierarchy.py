"""Layer-to-ROI RSA on the synthetic world recovers the simulated hierarchy (DESIGN.md §5)."""

from data_adapters import synthetic
from data_adapters.activations import extract
from neuroalign.data import select_region
from neuroalign.models import DEFAULT_LAYERS, default_model
from neuroalign.rsa import rsa_scores


def test_early_roi_matches_early_layers_and_late_roi_late_layers():
    world = synthetic.make_world(seed=0, n_per_category=20)
    layers = extract(default_model(), world.stimuli, DEFAULT_LAYERS, progress=False)
    fmri = world.fmri["sub-01"]
    rois = {region: select_region(fmri, region) for region in ("early", "late")}
    table = rsa_scores(layers, rois, bootstrap=None, seed=0)
    scores = table.pivot(index="source_a", columns="source_b", values="score")
    scores = scores.loc[list(DEFAULT_LAYERS)]
    order = list(DEFAULT_LAYERS)
    early_best, late_best = (
        order.index(scores["early"].idxmax()),
        order.index(scores["late"].idxmax()),
    )
    assert early_best <= 2 < late_best
    assert scores.loc["fc", "late"] > scores.loc["conv1", "late"] + 0.3
    assert scores["early"].max() > scores.loc["fc", "early"] + 0.3
