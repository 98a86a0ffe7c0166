"""
Which layer predicts which region? Encoding models on the synthetic world
=========================================================================

An encoding model predicts each voxel's response from a network layer's features with
ridge regression. :func:`neuroalign.encoding.encoding_scores` fits one per layer and per
voxel, chooses each voxel's regularisation by cross-validation inside the training
stimuli, and scores the predictions of held-out stimuli. The synthetic world knows the
answer: the *early* region is tuned to local oriented energy and the *late* region to
object category, so early layers should win in the early region and late layers in the
late one.
"""

# %%
# Stimuli, simulated fMRI and the default network's layers
# --------------------------------------------------------
# Each layer's feature maps are averaged over space (``pool="mean"``), which keeps the
# regressions small; see :func:`data_adapters.activations.extract`.

import matplotlib.pyplot as plt
import numpy as np

from data_adapters.activations import extract
from data_adapters.synthetic import make_world
from neuroalign.encoding import encoding_scores
from neuroalign.models import DEFAULT_LAYERS, default_model

world = make_world(seed=0, n_per_category=40)
layers = extract(default_model(), world.stimuli, DEFAULT_LAYERS, pool="mean", progress=False)
fmri = world.fmri["sub-01"]
print({name: layer.shape for name, layer in layers.items()})
print(f"fMRI: {fmri.sizes['presentation']} presentations x {fmri.sizes['neuroid']} voxels")

# %%
# Cross-validated scores with bootstrap confidence intervals
# ----------------------------------------------------------
# Repetitions are averaged before fitting; the noise ceiling (the highest correlation a
# perfect model could reach given the trial-to-trial noise) comes from the repetitions.

result = encoding_scores(layers, fmri, n_bootstrap=200, seed=0, device="cpu")
table = result.to_frame()
pearson = table[table.metric == "pearson"]
print(pearson[["layer", "region", "score", "ci_low", "ci_high", "ceiling"]].round(3))

# %%
# Layer profiles
# --------------
# Mean Pearson r over the voxels of each region, with 95% bootstrap intervals over
# stimuli; the dashed line is the region's noise ceiling.

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
positions = np.arange(len(DEFAULT_LAYERS))
for (region, rows), colour in zip(
    pearson.groupby("region", sort=False), plt.cm.viridis([0.1, 0.5, 0.85])
):
    rows = rows.set_index("layer").loc[list(DEFAULT_LAYERS)]
    ax.errorbar(
        positions,
        rows.score,
        yerr=[rows.score - rows.ci_low, rows.ci_high - rows.score],
        marker="o",
        capsize=3,
        color=colour,
        label=f"{region} ROI",
    )
    ax.axhline(rows.ceiling.iloc[0], color=colour, linestyle="--", linewidth=1)
ax.set_xticks(positions, DEFAULT_LAYERS)
ax.set_xlabel("layer of the default network (shallow → deep)")
ax.set_ylabel("prediction accuracy (Pearson r, held-out stimuli)")
ax.set_ylim(-0.1, 1.0)
ax.set_title("Encoding accuracy per layer; dashed: noise ceilings")
ax.legend(loc="upper left")

# %%
# The early region peaks at ``conv1`` and the late region at the deepest layers, as
# built into the world.
best = pearson.loc[pearson.groupby("region").score.idxmax(), ["region", "layer", "score"]]
print(best.to_string(index=False))
