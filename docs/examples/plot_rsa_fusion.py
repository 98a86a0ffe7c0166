"""
Representational similarity: network layers, fMRI regions and EEG time courses
==============================================================================

Representational similarity analysis (RSA) compares two systems through their
representational dissimilarity matrices (RDMs): for every pair of stimuli, how differently
does the system respond to them? Because an RDM is indexed by stimuli, not by voxels or
units, it compares a network layer with a brain region, and a brain region measured with
fMRI with the same brain measured with EEG.

This example runs two analyses on the synthetic world, whose ground truth is known:

1. :func:`neuroalign.rsa.rsa_scores` compares the RDM of each layer of the default network
   with the RDM of each fMRI region of interest, with bootstrap confidence intervals and
   noise ceilings.
2. :func:`neuroalign.rsa.fusion` (MEG/EEG–fMRI fusion) compares the EEG RDM at every time
   point with the RDM of each fMRI region, which tells *when* each region's representation
   appears on the scalp. The simulated EEG carries an early source peaking at 0.10 s and a
   late source peaking at 0.20 s.
"""

# %%
# Stimuli, recordings and the default network's layers
# ----------------------------------------------------
# 100 images (20 per category), two fMRI subjects with three regions of interest each, and
# one EEG subject. Each layer's feature maps are averaged over space (``pool="mean"``).

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from data_adapters.activations import extract
from data_adapters.synthetic import make_world
from neuroalign.data import select_region
from neuroalign.models import DEFAULT_LAYERS, default_model
from neuroalign.rsa import fusion, rsa_scores

world = make_world(seed=0, n_per_category=20)
layers = extract(default_model(), world.stimuli, DEFAULT_LAYERS, pool="mean", progress=False)
regions = list(world.truth.fmri_regions)  # early, mid, late
print(f"{len(world.stimuli)} stimuli; fMRI subjects: {', '.join(world.fmri)}; regions: {regions}")
print("EEG:", dict(world.eeg.sizes), f"({world.eeg.attrs['units']})")

# %%
# Layer × region RSA with noise ceilings
# --------------------------------------
# For each region, both subjects' RDMs (1 − Pearson r between the repetition-averaged
# response patterns of two stimuli) are pooled (``pool_subjects=True``): the score is the
# mean over subjects of the rank correlation (Spearman's ρ\ :sub:`A`) between a layer's RDM
# and the subject's RDM. The noise ceiling brackets the score of the best possible model,
# given the disagreement between subjects: its lower bound compares each subject with the
# mean of the others, its upper bound with the mean of all. Confidence intervals come from
# 100 bootstrap resamplings of the stimuli.

tables = []
for region in regions:
    subjects = {name: select_region(fmri, region) for name, fmri in world.fmri.items()}
    table = rsa_scores(layers, subjects, pool_subjects=True, n_bootstrap=100, seed=0, device="cpu")
    tables.append(table.assign(region=region))
scores = pd.concat(tables, ignore_index=True)
columns = ["region", "source_a", "score", "ci_low", "ci_high", "ceiling_low", "ceiling_high"]
print(scores[columns].round(3).to_string(index=False))

# %%
# Layer profiles
# --------------
# One panel per region: the RSA score of each layer with its 95% bootstrap interval, and
# the region's noise ceiling as a grey band.

colours = dict(zip(regions, plt.cm.viridis([0.1, 0.5, 0.85])))
positions = np.arange(len(DEFAULT_LAYERS))
fig, axes = plt.subplots(1, len(regions), figsize=(10.5, 3.8), sharey=True, layout="constrained")
for ax, region in zip(axes, regions):
    rows = scores[scores.region == region].set_index("source_a").loc[list(DEFAULT_LAYERS)]
    ax.axhspan(
        rows.ceiling_low.iloc[0],
        rows.ceiling_high.iloc[0],
        color="0.85",
        label="noise ceiling",
    )
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.errorbar(
        positions,
        rows.score,
        yerr=[rows.score - rows.ci_low, rows.ci_high - rows.score],
        marker="o",
        capsize=3,
        color=colours[region],
        label="RSA score, 95% CI",
    )
    tuning = world.truth.tuning[world.truth.fmri_regions[region]]
    ax.set_title(f"{region} ROI ({tuning})", fontsize=10)
    ax.set_xticks(positions, DEFAULT_LAYERS, fontsize=9)
    ax.set_xlim(-0.5, len(DEFAULT_LAYERS) - 0.5)
    ax.set_xlabel("layer (shallow → deep)")
axes[0].set_ylabel("RDM similarity (Spearman ρ$_A$)")
axes[0].set_ylim(-0.15, 1.0)
axes[0].legend(loc="upper left", fontsize=8)
fig.suptitle("RSA of the default network's layers with each fMRI region (2 subjects)")

# %%
# The late region, tuned to object category, is best matched by the deepest layers, and the
# mid region (colour and curvature) by ``conv1``. The early region's RDM is reliable (high
# noise ceiling) but matches none of the spatially averaged layers: it encodes *where* the
# oriented edges are, which the average over positions discards. Features that keep their
# positions (``pool="flatten"`` in :func:`~data_adapters.activations.extract`) recover it.
# An encoding model (see the encoding example) can also reweight the features; a fixed RDM
# weighs them all equally.

best = scores.loc[scores.groupby("region", sort=False).score.idxmax()]
print(best[["region", "source_a", "score", "ci_low", "ci_high", "ceiling_low"]].round(3))

# %%
# MEG/EEG–fMRI fusion
# -------------------
# One RDM per EEG time point (the 32 channels' voltages, Euclidean distance, which keeps
# differences in overall response strength) is compared with each region's fMRI RDM of
# subject ``sub-01`` (Spearman's ρ). A cluster-based permutation test, which shuffles the
# stimulus labels of the fMRI RDMs 100 times, finds the time windows where the fusion is
# above chance, corrected over time points.

result = fusion(
    world.eeg,
    world.fmri["sub-01"],
    rdm_method="euclidean",
    n_permutations=100,
    seed=0,
    device="cpu",
)
times = result.fusion.time.values
step = float(np.median(np.diff(times)))
for region in result.fusion.region.values.tolist():
    course = result.fusion.sel(region=region)
    clusters = result.clusters[region]
    spans = [
        f"{times[clusters.labels == k + 1][0]:.2f}–{times[clusters.labels == k + 1][-1]:.2f} s "
        f"(p = {p:.3f})"
        for k, p in enumerate(clusters.p_values)
        if p < 0.05
    ]
    print(
        f"{region:>5}: peak ρ = {float(course.max()):.3f} at {float(course.idxmax('time')):.2f} s;"
        f" significant clusters: {', '.join(spans) or 'none'}"
    )

# %%
# Fusion time courses
# -------------------
# Bars below the curves mark the significant clusters (p < 0.05); dashed vertical lines
# mark the latencies of the simulated early and late EEG sources.

fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
ax.axhline(0, color="0.5", linewidth=0.8)
for index, region in enumerate(result.fusion.region.values.tolist()):
    colour = colours[region]
    ax.plot(times, result.fusion.sel(region=region), color=colour, label=f"{region} ROI")
    clusters = result.clusters[region]
    bar = -0.16 - 0.025 * index
    for k, p in enumerate(clusters.p_values):
        if p < 0.05:
            cluster_times = times[clusters.labels == k + 1]
            ax.hlines(
                bar,
                cluster_times[0] - step / 2,
                cluster_times[-1] + step / 2,
                color=colour,
                linewidth=4,
            )
for source, latency in world.truth.source_latencies.items():
    ax.axvline(
        latency,
        color=colours[source],
        linestyle="--",
        linewidth=1,
        label=f"{source} source latency ({latency:.2f} s)",
    )
ax.set_xlim(times[0], times[-1])
ax.set_ylim(-0.23, 0.4)
ax.set_xlabel("time after stimulus onset (s)")
ax.set_ylabel("EEG–fMRI RDM similarity (Spearman ρ)")
ax.set_title("MEG/EEG–fMRI fusion (sub-01); bars: significant clusters, p < 0.05")
ax.legend(loc="upper right", fontsize=8)

# %%
# The early region's representation appears in the EEG with the early source, peaking at
# 0.10 s, and the late region's with the late source, peaking at 0.20 s. The simulated EEG
# has no source of the mid region: its fusion stays near chance, with no significant cluster.
