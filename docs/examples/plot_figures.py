"""
Figures and the HTML report
===========================

Every analysis result has a figure in :mod:`neuroalign.plotting`, and each plot function
returns a :class:`matplotlib.figure.Figure` (it never calls ``plt.show()``), so the same
call makes a notebook figure, a paper panel or a page of the HTML report. This example
draws each kind on the synthetic world:

- a layer profile per region with CIs and noise ceilings (from an encoding table);
- the best layer of each voxel and the best score on the (simulated) volume;
- an RDM and its MDS embedding;
- model-comparison bars with pairwise significance (from an RSA evaluation);
- MEG/EEG–fMRI fusion time courses with cluster marks, a time × time matrix and EEG
  topomaps;

and then bundles them with :func:`~neuroalign.plotting.save_figure` and
:func:`~neuroalign.report.build_report` into one self-contained HTML file.
"""

# %%
# A small synthetic world
# -----------------------
# 40 images (8 per category), two fMRI subjects with three regions of interest, one EEG
# subject; the default network's layers averaged over space.

import tempfile

import numpy as np
import xarray as xr

from data_adapters.activations import extract
from data_adapters.synthetic import make_world
from neuroalign import plotting
from neuroalign.data import select_region
from neuroalign.encoding import encoding_scores
from neuroalign.models import DEFAULT_LAYERS, default_model
from neuroalign.report import build_report
from neuroalign.rsa import compute_rdms, evaluate, fusion

world = make_world(seed=0, quick=True)
layers = extract(default_model(), world.stimuli, DEFAULT_LAYERS, pool="mean", progress=False)
fmri = world.fmri["sub-01"]
print(f"{len(world.stimuli)} stimuli, {fmri.sizes['neuroid']} voxels, EEG {dict(world.eeg.sizes)}")

# %%
# Layer profile
# -------------
# Cross-validated ridge encoding of each layer, scored per voxel with Pearson r and
# averaged per region; the band is the 95% bootstrap interval over stimuli, the dashed
# line the region's noise ceiling.

encoding = encoding_scores(layers, fmri, cv=4, inner_cv=3, n_bootstrap=100, device="cpu")
table = encoding.to_frame()
profile = plotting.plot_layer_profile(table, metric="pearson")

# %%
# Brain maps
# ----------
# The same per-voxel scores on the volume: which layer predicts each voxel best, and how
# well. The simulated regions are stacked from back (early) to front (late) along y.

scores = encoding.scores["pearson"]
best_layer = plotting.plot_best_layer_map(scores, title="sub-01: best layer")
best_score = plotting.plot_brain_map(
    scores.max("layer"), label="best Pearson r", title="sub-01: best score"
)

# %%
# RDM and MDS
# -----------
# The deepest layer's representational dissimilarities (1 − Pearson r), stimuli sorted by
# category, and a two-dimensional MDS embedding of the same RDM.

order = np.argsort(world.stimuli.metadata["category"].to_numpy(), kind="stable")
categories = world.stimuli.metadata["category"].to_numpy()[order]
rdms = compute_rdms({"fc": layers["fc"].isel(presentation=order)})
rdm_figure = plotting.plot_rdm(rdms, labels=categories)
mds_figure = plotting.plot_mds(rdms, labels=categories)

# %%
# Model comparison
# ----------------
# Each layer's RDM against both subjects' late-region RDMs, with bootstrap CIs over
# stimuli, the noise ceiling and Holm-corrected pairwise tests (brackets: p < 0.05).

late = {name: select_region(recording, "late") for name, recording in world.fmri.items()}
evaluation = evaluate(
    compute_rdms(layers),
    compute_rdms(late),
    method="corr",
    bootstrap="pattern",
    n_bootstrap=200,
    seed=0,
    device="cpu",
)
comparison = plotting.plot_model_comparison(evaluation)

# %%
# Time courses, a time × time matrix and topomaps
# -----------------------------------------------
# MEG/EEG–fMRI fusion: the EEG RDM at each time point against each region's RDM, with
# cluster-corrected significance (bars). The time × time matrix correlates the evoked
# scalp pattern at one time with the pattern at another; the topomaps show the evoked
# response at the two simulated source latencies.

fused = fusion(world.eeg, fmri, rdm_method="euclidean", n_permutations=100, seed=0, device="cpu")
time_course = plotting.plot_time_course(
    fused.fusion, clusters=fused, chance=0.0, ylabel="EEG–fMRI RDM similarity (Spearman ρ)"
)

evoked = world.eeg.mean("presentation")
patterns = evoked - evoked.mean("neuroid")
correlation = xr.corr(
    patterns.rename(time="train_time"), patterns.rename(time="test_time"), dim="neuroid"
)
matrix = plotting.plot_generalization_matrix(
    correlation.transpose("train_time", "test_time"),
    chance=0.0,
    label="scalp-pattern correlation (Pearson r)",
)
topomaps = plotting.plot_topomap(
    evoked, times=[0.1, 0.2], label=f"evoked amplitude ({world.eeg.attrs['units']})"
)

# %%
# One HTML report
# ---------------
# :func:`~neuroalign.plotting.save_figure` writes ``figures/NAME.png`` and a title and
# caption sidecar; :func:`~neuroalign.report.build_report` inlines them with the result
# table and the run's metadata into one file that opens offline.

results = tempfile.mkdtemp()
table.to_csv(f"{results}/results.csv", index=False)
figures = {
    "1_profile": (profile, "Encoding layer profile", "Mean Pearson r per region; 95% CI."),
    "2_best_layer": (best_layer, "Best layer per voxel", None),
    "3_comparison": (comparison, "RSA model comparison (late region)", None),
    "4_fusion": (time_course, "EEG–fMRI fusion", "Bars: significant clusters."),
}
for name, (figure, title, caption) in figures.items():
    plotting.save_figure(figure, results, name, title=title, caption=caption)
report = build_report(results, title="neuroalign example report")
print(f"report: {report.name}, {report.stat().st_size / 1e3:.0f} kB, self-contained")
