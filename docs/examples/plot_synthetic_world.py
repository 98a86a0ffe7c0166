"""
The synthetic world
===================

neuroalign ships a synthetic world with known ground truth: procedural images of five
object categories and simulated subjects whose tuning is known. This example generates a
small world, looks at its stimuli, averages the repetitions of one simulated fMRI subject
with :func:`neuroalign.data.average_repetitions` and checks what the world was built to
contain: voxels of the *late* region of interest respond to object category, voxels of the
*early* region do not (they are tuned to local oriented energy).
"""

# %%
# Generate the world
# ------------------
# :func:`data_adapters.synthetic.make_world` draws the stimuli and simulates every subject
# from one seed. ``quick=True`` makes a small world (8 images per category, 30 voxels per
# region of interest) in a few seconds.

import matplotlib.pyplot as plt
import numpy as np

from data_adapters.synthetic import make_world
from neuroalign.data import average_repetitions, select_region, split_halves

world = make_world(seed=0, quick=True)
stimuli = world.stimuli
print(f"{len(stimuli)} stimuli of shape {stimuli.images.shape[1:]} (channel, y, x)")
print("categories:", ", ".join(stimuli.categories))
print("fMRI subjects:", ", ".join(world.fmri))
print("what each fMRI region is tuned to:")
for region, stage in world.truth.fmri_regions.items():
    print(f"  {region:>5}: {world.truth.tuning[stage]}")

# %%
# The stimuli
# -----------
# Each image shows one textured, coloured shape on a grey background. Colour, size,
# position, orientation and texture are drawn at random, so that the category is the only
# property shared by the members of a category. Each row of the grid shows the first
# images of one category.

n_columns = 6
categories = stimuli.categories
fig, axes = plt.subplots(
    len(categories),
    n_columns,
    figsize=(1.3 * n_columns, 1.3 * len(categories)),
    layout="constrained",
)
fig.suptitle("Synthetic stimuli, one category per row (64 × 64 pixels)")
for row, category in enumerate(categories):
    members = np.flatnonzero(stimuli.metadata["category"].to_numpy() == category)
    for column, ax in enumerate(axes[row]):
        ax.imshow(stimuli.images[members[column]].transpose(1, 2, 0))
        ax.set_xticks([])
        ax.set_yticks([])
        if column == 0:
            ax.set_ylabel(category, fontsize=11)
        ax.set_title(stimuli.stimulus_ids[members[column]], fontsize=7)

# %%
# One fMRI subject
# ----------------
# Every recording is an :class:`xarray.DataArray` of *presentations × neuroids*: one row per
# trial, labelled by ``stimulus_id``, and one column per voxel, labelled by ``neuroid_id``
# and its ``region``. Each stimulus was shown twice, in shuffled order.

fmri = world.fmri["sub-01"]
print(fmri.sizes)
print("regions:", ", ".join(sorted(set(fmri.region.values.tolist()))))
print(
    "presentations of",
    fmri.stimulus_id.values[0],
    "->",
    int((fmri.stimulus_id == fmri.stimulus_id.values[0]).sum()),
)

# %%
# :func:`~neuroalign.data.average_repetitions` collapses the presentations of each
# stimulus into one row. Coordinates that are constant within a stimulus, such as its
# ``category``, are kept, and ``n_repetitions`` counts what went into each mean.

averaged = average_repetitions(fmri)
print(averaged.sizes)
print("repetitions per stimulus:", sorted(set(averaged.n_repetitions.values.tolist())))

# %%
# Which region knows the category?
# --------------------------------
# For each voxel, average its response over the images of each category. To order the
# voxels without fooling ourselves, :func:`~neuroalign.data.split_halves` gives two
# independent averages: the first repetition decides each voxel's preferred category (the
# sort order), and the second repetition provides the category means that are shown. Late
# voxels keep their preference on independent data (a block structure appears); early
# voxels do not.

first, second = split_halves(fmri)
units = fmri.attrs.get("units", "a.u.")
regions = ("early", "late")


def category_means(da, region):
    """Category × voxel matrix of mean responses of one region."""
    region_data = select_region(da, region)
    return region_data.groupby("category").mean("presentation").sel(category=list(categories))


means = {}
for region in regions:
    order_from = category_means(first, region).values
    preferred = order_from.argmax(axis=0)
    strength = order_from.max(axis=0)
    order = np.lexsort((-strength, preferred))  # by preferred category, strongest first
    means[region] = category_means(second, region).values[:, order]

limit = np.percentile(np.abs(np.concatenate(list(means.values()), axis=1)), 98)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True, layout="constrained")
fig.suptitle("Category-mean responses of sub-01's voxels")
for ax, region in zip(axes, regions):
    image = ax.imshow(
        means[region],
        aspect="auto",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
    )
    ax.set_title(f"{region} ROI ({world.truth.tuning[world.truth.fmri_regions[region]]})")
    ax.set_yticks(range(len(categories)), categories)
axes[0].set_ylabel("stimulus category")
fig.supxlabel("voxel, sorted by its preferred category in repetition 1", fontsize=10)
colorbar = fig.colorbar(image, ax=axes, label=f"mean response, repetition 2 ({units})")

# %%
# A single number per voxel summarises this: the fraction of the variance of its
# (repetition-averaged) responses across stimuli that the category explains (η²). With 5
# categories of 8 images and no category tuning at all, η² is about 4 / 39 ≈ 0.10 on
# average (dashed line). Early voxels sit near that level; late voxels are far above it.


def category_variance_explained(da):
    """η² of each voxel: variance of the category means over the variance across stimuli."""
    category_mean = da.groupby("category").mean("presentation")
    explained = (category_mean.sel(category=da.category) - da.mean("presentation")) ** 2
    return explained.mean("presentation") / da.var("presentation")


all_regions = list(world.truth.fmri_regions)
eta_squared = [
    category_variance_explained(select_region(averaged, region)).values for region in all_regions
]
n_per_category = len(stimuli) // len(categories)
chance = (len(categories) - 1) / (len(stimuli) - 1)

fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
ax.boxplot(eta_squared, showfliers=False, widths=0.5)
jitter = np.random.default_rng(0)
for position, values in enumerate(eta_squared, start=1):
    ax.plot(
        position + jitter.uniform(-0.15, 0.15, values.size),
        values,
        "o",
        ms=3,
        alpha=0.6,
        color="tab:blue",
    )
ax.axhline(chance, color="0.3", ls="--", lw=1, label="expected without category tuning")
ax.set_xticks(range(1, len(all_regions) + 1), all_regions)
ax.set_xlabel("fMRI region of interest (sub-01)")
ax.set_ylabel("η², variance explained by category")
ax.set_ylim(0, 1)
ax.set_title(
    f"Category selectivity per voxel ({n_per_category} images × {len(categories)} categories)"
)
ax.legend(loc="upper left", frameon=False)

for region, values in zip(all_regions, eta_squared):
    print(f"{region:>5}: median η² = {np.median(values):.2f}")

# %%
# The default network, in the same schema
# ---------------------------------------
# neuroalign ships a small convnet trained to classify the synthetic world's categories
# (:func:`neuroalign.models.default_model`). :func:`data_adapters.activations.extract` runs it
# over the stimuli with forward hooks and returns one labelled object per layer, shallow to
# deep: one row per stimulus and one column per unit (``pool="flatten"`` keeps every value
# of a layer's output; ``attrs["output_shape"]`` remembers its shape before flattening).

from data_adapters.activations import extract
from neuroalign.data import align
from neuroalign.models import DEFAULT_LAYERS, default_model

layers = extract(default_model(), stimuli, DEFAULT_LAYERS, progress=False)
for name, layer in layers.items():
    shape = " × ".join(str(n) for n in layer.attrs["output_shape"])
    print(
        f"{name:>5}: {layer.sizes['presentation']} stimuli × {layer.sizes['neuroid']:>5} units"
        f"  (output of shape {shape} per image)"
    )

# %%
# A layer and a brain region are now the same kind of object, so
# :func:`~neuroalign.data.align` pairs the repetition-averaged late ROI with the last
# convolution block stimulus by stimulus, ready for an encoding model or RSA.

brain, conv4 = align(select_region(averaged, "late"), layers["conv4"])
print("late ROI:", dict(brain.sizes), "| conv4:", dict(conv4.sizes))
print(
    "same stimuli in the same order:",
    bool((brain.stimulus_id.values == conv4.stimulus_id.values).all()),
)

plt.show()
