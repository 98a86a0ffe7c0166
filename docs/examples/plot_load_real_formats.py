"""
Real file formats in, response matrices out: NIfTI, EDF, FIF, NWB and BIDS
==========================================================================

Labs store recordings as NIfTI volumes with BIDS events, EDF or FIF files and NWB
files. The adapters in :mod:`data_adapters` turn each into the same labelled response
matrix (presentations x neuroids [x time]) that every analysis in neuroalign takes.
Here the synthetic world is written to disk in those formats and read back; then
single-trial betas are estimated from simulated BOLD runs with nilearn's GLM, and the
per-voxel scores are written back as a NIfTI image for plotting.
"""

# %%
# Write the synthetic world as a BIDS folder
# ------------------------------------------
# :func:`data_adapters.synthetic_files.write_bids` writes fMRI betas (NIfTI + stimulus
# table + ROI atlas), EEG (EDF), MEG (FIF) and spikes (NWB), each with its events.

import tempfile

import matplotlib.pyplot as plt
import numpy as np

from data_adapters.bids import load_bids
from data_adapters.fmri import load_bold, to_nifti
from data_adapters.synthetic import make_world
from data_adapters.synthetic_files import write_bids, write_bold_runs

world = make_world(seed=0, quick=True, n_per_category=2, n_subjects=1)
root = tempfile.mkdtemp()
write_bids(world, root)

# %%
# Load every modality in one call per datatype
# --------------------------------------------
# EDF stores 16-bit integers, so EEG comes back within one quantisation step; FIF
# (float32), NIfTI and NWB are exact.

eeg = load_bids(root, datatype="eeg")["sub-01"]
meg = load_bids(root, datatype="meg")["sub-01"]
spikes = load_bids(root, datatype="ecephys")["sub-monkey01"]
betas = load_bids(root, datatype="betas")["sub-01"]
for name, da in {"eeg": eeg, "meg": meg, "spikes": spikes, "fmri": betas}.items():
    print(f"{name:7s}{dict(da.sizes)}  units={da.attrs['units']}")
print("EEG max error (uV):", float(np.abs(eeg.values - world.eeg.values).max()))
print("spike counts identical:", bool((spikes.values == world.spikes.values).all()))

# %%
# Single-trial betas from BOLD runs
# ---------------------------------
# Two simulated runs, each showing the 10 stimuli once; least-squares-all (LSA) fits
# one regressor per trial. The estimates track the noiseless responses.

runs = write_bold_runs(world.subjects["fmri"]["sub-01"], world.stimuli, root, noise=0.5)
trials = load_bold(runs.bold, runs.events, method="lsa")
truth = runs.truth.set_index(presentation="stimulus_id").sel(presentation=trials.stimulus_id)
truth = truth.set_index(neuroid="neuroid_id").sel(neuroid=trials.neuroid_id.values)
r = [
    np.corrcoef(trials.values[:, v], truth.values[:, v])[0, 1]
    for v in range(trials.sizes["neuroid"])
]
print(f"mean correlation of betas with the true responses: {np.mean(r):.2f}")

# %%
# Scores back on the brain grid
# -----------------------------
# :func:`data_adapters.fmri.to_nifti` puts one value per voxel back into the volume
# (NaN elsewhere), ready for nilearn's plotting functions; ``reference`` supplies the
# grid (shape and affine) recorded when the runs were loaded.

image = to_nifti(trials.std("presentation"), reference=trials)
volume = image.get_fdata()
fig, axes = plt.subplots(1, 3, figsize=(8, 2.6))
for z, ax in enumerate(axes):
    ax.imshow(volume[:, :, z].T, origin="lower", cmap="viridis")
    ax.set_title(f"slice z={z}")
    ax.set_axis_off()
fig.suptitle("beta standard deviation per voxel")
