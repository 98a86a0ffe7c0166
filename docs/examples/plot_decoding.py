"""
Decoding: when is the category on the scalp, and what does a region encode?
===========================================================================

Decoding turns the question of an encoding model around: from the brain's response, can a
classifier tell which stimulus was shown? This example runs three analyses on the synthetic
world, whose EEG subject mixes early sources (peak 0.10 s, driven by oriented energy) and
late sources (peak 0.20 s, driven by object category):

1. :func:`neuroalign.decoding.decode` classifies the category from the EEG at every time
   point (time is a batch dimension: all time points of a fold are fitted at once), with
   folds that keep both repetitions of a stimulus together;
2. temporal generalisation trains at each time and tests at every other time;
3. decoding the late feature stage from fMRI regions, scored by pairwise identification;
4. decoding the same features from the EEG at every time point.
"""

# %%
# Category decoding over time
# ---------------------------
# Shrinkage LDA (Ledoit-Wolf), standardised inside each fold, scored by one-vs-rest ROC
# AUC over the five categories. A cluster-based permutation test (labels shuffled by
# stimulus, same folds) marks the time points where decoding is above chance.

import matplotlib.pyplot as plt
import torch

from data_adapters.synthetic import make_world
from neuroalign.data import activations, select_region
from neuroalign.decoding import decode, decoding_permutation_test

world = make_world(seed=0, quick=True, n_subjects=1, n_per_category=20)
eeg = world.eeg
print("EEG:", dict(eeg.sizes), "categories:", world.truth.categories)

curve = decode(eeg, "category", classifier="lda", cv=5, seed=0, device="cpu")
test = decoding_permutation_test(
    eeg.values,
    eeg.category.values,
    classifier="lda",
    groups=eeg.stimulus_id.values,
    n_permutations=49,
    seed=0,
    device="cpu",
)
print(curve.to_frame().loc[lambda t: t.time.between(0.15, 0.25), ["time", "score", "ci_low"]])

fig, ax = plt.subplots(figsize=(6, 3))
times = curve.scores.time.values
ax.plot(times, curve.mean, color="k", label="category (LDA, AUC)")
ax.fill_between(
    times,
    0.5,
    curve.mean,
    where=test.clusters.significant(0.05),
    alpha=0.3,
    label="cluster p < 0.05",
)
for stage, latency in world.truth.source_latencies.items():
    ax.axvline(latency, ls=":", color="grey")
    ax.text(latency, 0.98, f"{stage} sources", ha="center", va="top", fontsize=8)
ax.axhline(curve.chance, color="grey", lw=0.5)
ax.set(xlabel="time (s)", ylabel="ROC AUC", ylim=(0.35, 1.0))
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()

# %%
# Temporal generalisation
# -----------------------
# A classifier trained at one time and tested at another succeeds when the same pattern
# is present at both: the late category code stays on the diagonal around 0.2 s.

general = decode(eeg, "category", classifier="lda", cv=5, generalize=True, device="cpu")
fig, ax = plt.subplots(figsize=(4, 3.5))
image = ax.imshow(
    general.mean.values,
    origin="lower",
    extent=[times[0], times[-1], times[0], times[-1]],
    vmin=0.3,
    vmax=0.9,
    cmap="RdBu_r",
)
ax.set(xlabel="test time (s)", ylabel="train time (s)")
fig.colorbar(image, label="ROC AUC")
fig.tight_layout()

# %%
# Identification from fMRI regions
# --------------------------------
# The late feature stage of the world (what drives the late region) is decoded from each
# region's repetition-averaged patterns with per-feature ridge regression, and each test
# stimulus's decoded vector is compared with its own true vector and every other one
# (pairwise identification, chance 0.5).

with torch.no_grad():
    late = world.features(torch.as_tensor(world.stimuli.images))["late"].numpy()
target = activations(late, world.stimuli.stimulus_ids, model="world", layer="late features")
fmri = world.fmri["sub-01"]
for region in world.truth.fmri_regions:
    result = decode(
        select_region(fmri, region), target, scoring="identification", cv=5, device="cpu"
    )
    row = result.to_frame().iloc[0]
    print(
        f"{region:>5} region: identification {row.score:.2f} "
        f"[{row.ci_low:.2f}, {row.ci_high:.2f}] (chance {result.chance})"
    )

# %%
# Feature decoding over time
# --------------------------
# The same late features decoded from the EEG: one per-feature ridge fit per fold and
# time point, all time points of a fold fitted at once. The decoded vectors identify
# their stimulus when the late sources are active.

eeg_result = decode(eeg, target, scoring="identification", cv=5, device="cpu")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(times, eeg_result.mean, color="k", label="late features (identification)")
ax.axvline(world.truth.source_latencies["late"], ls=":", color="grey")
ax.axhline(eeg_result.chance, color="grey", lw=0.5)
ax.set(xlabel="time (s)", ylabel="pairwise identification", ylim=(0.35, 1.0))
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
