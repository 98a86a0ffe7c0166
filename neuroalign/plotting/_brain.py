"""Per-voxel and per-vertex values on brain volumes (nilearn) and fsaverage surfaces."""

import numpy as np

from neuroalign._optional import import_optional
from neuroalign.plotting._common import colours

__all__ = ["plot_best_layer_map", "plot_brain_map", "plot_surface_map"]

_OFFLINE_MESHES = ("fsaverage5",)
# Figure area of nilearn's slices and colour bar; the strip on the right holds its label.
_SLICER_RECT = (0.0, 0.0, 0.94, 1.0)
_HEMISPHERES = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right"}


def _neuroid_values(values, name):
    """1-D values over ``neuroid`` (size-1 dimensions squeezed away)."""
    import xarray as xr

    if not isinstance(values, xr.DataArray):
        raise TypeError(
            f"{name!r} must be an xarray.DataArray over 'neuroid' (with voxel x, y, z "
            f"coordinates) or a NIfTI image; got {type(values).__name__}."
        )
    squeezed = values.squeeze(drop=True) if values.ndim > 1 else values
    if squeezed.dims != ("neuroid",):
        raise ValueError(
            f"{name!r} must be one value per neuroid; got dims {values.dims}. Select or "
            "average the other dimensions first (e.g. .sel(layer=...) or .mean('time'))."
        )
    return squeezed


def _voxel_indices(values, affine, name):
    """Integer voxel indices (n, 3) of a per-voxel DataArray."""
    missing = [c for c in "xyz" if c not in values.coords]
    if missing:
        raise ValueError(
            f"{name!r} lacks the voxel coordinate(s) {missing} along 'neuroid'; brain maps "
            "need x, y, z per voxel (as in fMRI responses made by the fmri adapter)."
        )
    xyz = np.stack([np.asarray(values[c].values, float) for c in "xyz"], axis=1)
    integral = np.allclose(xyz, np.round(xyz))
    if integral and affine is None:
        return np.round(xyz).astype(int)
    if affine is None:
        raise ValueError(
            f"{name!r} has non-integer x, y, z (millimetres?); pass the image's affine= so "
            "they can be mapped to voxel indices."
        )
    if integral:
        return np.round(xyz).astype(int)
    indices = np.linalg.solve(np.asarray(affine, float), np.c_[xyz, np.ones(len(xyz))].T)[:3]
    return np.round(indices.T).astype(int)


def _to_image(values, affine, name, *, fill=0.0):
    """A NIfTI image from a per-voxel DataArray, or the image itself."""
    nibabel = import_optional("nibabel", extra="fmri", feature="Brain maps")
    if hasattr(values, "affine") and hasattr(values, "get_fdata"):
        return values
    values = _neuroid_values(values, name)
    indices = _voxel_indices(values, affine, name)
    if (indices < 0).any():
        raise ValueError(f"{name!r} has negative voxel indices; pass the image's affine=.")
    volume = np.full(tuple(indices.max(0) + 1), fill, dtype=np.float32)
    volume[tuple(indices.T)] = np.nan_to_num(np.asarray(values.values, np.float32), nan=fill)
    return nibabel.Nifti1Image(volume, np.eye(4) if affine is None else np.asarray(affine))


def _label_colorbar(display, label):
    """Label nilearn's colour bar on its right (its ticks are on the left)."""
    colorbar_ax = getattr(display, "_colorbar_ax", None)
    if colorbar_ax is not None:
        colorbar_ax.yaxis.set_label_position("right")
        colorbar_ax.set_ylabel(label)
    return colorbar_ax


def plot_brain_map(
    values,
    *,
    affine=None,
    bg_img=None,
    threshold=1e-6,
    label="score",
    title=None,
    cmap="RdBu_r",
    vmax=None,
    display_mode="ortho",
    cut_coords=None,
    figure=None,
):
    """Per-voxel values on a brain volume with nilearn's ``plot_stat_map``.

    Parameters
    ----------
    values : xarray.DataArray over neuroid or nibabel image
        One value per voxel with ``x, y, z`` neuroid coordinates (integer voxel
        indices, or millimetres together with ``affine``), or a 3-D image.
    affine : array of shape (4, 4), optional
        Voxel-to-world transform of the volume; default identity (indices in mm).
    bg_img : nibabel image or str, optional
        Anatomical background in the same space; default none (the synthetic world's
        voxels are not in a template space). Pass ``"MNI152"`` for nilearn's template.
    threshold : float, default=1e-6
        Values with smaller magnitude are transparent.
    label : str, default="score"
        Colour-bar label, with its unit.
    title : str, optional
    cmap : str, default="RdBu_r"
    vmax : float, optional
    display_mode : str, default="ortho"
        nilearn display mode (``"ortho"``, ``"z"``, ...).
    cut_coords : optional
        Passed to nilearn; default the voxel of largest magnitude.
    figure : matplotlib.figure.Figure, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_best_layer_map, plot_surface_map

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> values = xr.DataArray(np.arange(1.0, 9.0), dims="neuroid", coords={
    ...     "x": ("neuroid", [0, 1] * 4), "y": ("neuroid", [0, 0, 1, 1] * 2),
    ...     "z": ("neuroid", [0] * 4 + [1] * 4)})
    >>> plot_brain_map(values).axes[-1].get_ylabel()
    'score'
    """
    plotting = import_optional("nilearn.plotting", extra="fmri", feature="Brain maps")
    image = _to_image(values, affine, "values")
    data = np.asarray(image.get_fdata())
    if cut_coords is None and display_mode == "ortho":
        peak = np.unravel_index(np.nanargmax(np.abs(data)), data.shape)
        cut_coords = tuple((np.asarray(image.affine) @ np.r_[peak, 1.0])[:3])
    figure = figure if figure is not None else _slicer_figure()
    display = plotting.plot_stat_map(
        image,
        bg_img=_background(bg_img),
        threshold=threshold,
        cmap=cmap,
        vmax=vmax,
        display_mode=display_mode,
        cut_coords=cut_coords,
        figure=figure,
        axes=_SLICER_RECT,
        title=title,
        draw_cross=False,
        black_bg=False,
    )
    _label_colorbar(display, label)
    return figure


def _slicer_figure(figsize=(7.5, 2.8)):
    """A figure for nilearn's displays, which place their axes themselves (no layout engine)."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def _background(bg_img):
    if isinstance(bg_img, str) and bg_img.upper() == "MNI152":
        datasets = import_optional("nilearn.datasets", extra="fmri", feature="Brain maps")
        return datasets.load_mni152_template()
    return bg_img


def best_layer_codes(scores, *, min_score=None):
    """1 + index of the best layer per neuroid; 0 where no score is finite or above ``min_score``.

    Parameters
    ----------
    scores : array of shape (n_layers, n_neuroids)
    min_score : float, optional

    Returns
    -------
    codes : numpy.ndarray of float of shape (n_neuroids,)
    """
    values = np.asarray(scores, float)
    finite = np.where(np.isfinite(values), values, -np.inf)
    keep = np.isfinite(values).any(0)
    if min_score is not None:
        keep &= finite.max(0) >= min_score
    return np.where(keep, finite.argmax(0) + 1.0, 0.0)


def plot_best_layer_map(
    scores,
    *,
    layer_order=None,
    min_score=None,
    affine=None,
    bg_img=None,
    title=None,
    display_mode="ortho",
    cut_coords=None,
    figure=None,
):
    """The best-scoring layer of each voxel, as categories on the volume.

    Parameters
    ----------
    scores : xarray.DataArray of dims (layer, neuroid) or dict of str to DataArray
        Per-voxel score of every layer (voxels carry ``x, y, z`` coordinates).
    layer_order : sequence of str, optional
        Layer order (shallow to deep) for the colours; default the order given.
    min_score : float, optional
        Voxels whose best score is below it are left out.
    affine, bg_img, title, display_mode, cut_coords, figure
        As in :func:`plot_brain_map`.

    Returns
    -------
    figure : matplotlib.figure.Figure
        The colour bar names the layers.

    See Also
    --------
    plot_brain_map, plot_layer_profile

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> coords = {"x": ("neuroid", [0, 1, 0, 1]), "y": ("neuroid", [0, 0, 1, 1]),
    ...     "z": ("neuroid", [0, 0, 1, 1])}
    >>> scores = xr.DataArray(np.eye(2, 4), dims=("layer", "neuroid"),
    ...     coords={"layer": ["c1", "c2"], **coords})
    >>> [t.get_text() for t in plot_best_layer_map(scores).axes[-1].get_yticklabels()]
    ['c1', 'c2']
    """
    import xarray as xr

    plotting = import_optional("nilearn.plotting", extra="fmri", feature="Brain maps")
    from matplotlib.colors import ListedColormap

    if isinstance(scores, dict):
        scores = xr.concat(
            [_neuroid_values(v, f"scores[{k!r}]") for k, v in scores.items()],
            dim=xr.DataArray([str(k) for k in scores], dims="layer", name="layer"),
        )
    if not isinstance(scores, xr.DataArray) or "layer" not in scores.dims:
        raise ValueError(
            "'scores' must be a DataArray with a 'layer' dimension (layer x neuroid) or a "
            "dict layer -> per-voxel DataArray."
        )
    layers = [str(v) for v in scores["layer"].values]
    if layer_order is not None:
        unknown = [layer for layer in layer_order if layer not in layers]
        if unknown:
            raise ValueError(f"'layer_order' names {unknown}, which are not in {layers}.")
        layers = list(layer_order)
        scores = scores.sel(layer=layers)
    category = xr.DataArray(
        best_layer_codes(scores.transpose("layer", ...).values, min_score=min_score),
        dims="neuroid",
        coords={c: scores[c] for c in "xyz" if c in scores.coords},
    )
    image = _to_image(category, affine, "scores")
    n = len(layers)
    if cut_coords is None and display_mode == "ortho":
        data = np.asarray(image.get_fdata())
        centre = np.round(np.argwhere(data > 0).mean(0)) if (data > 0).any() else [0, 0, 0]
        cut_coords = tuple((np.asarray(image.affine) @ np.r_[centre, 1.0])[:3])
    figure = figure if figure is not None else _slicer_figure()
    display = plotting.plot_stat_map(
        image,
        bg_img=_background(bg_img),
        threshold=0.5,
        cmap=ListedColormap(colours(n)),
        vmin=0.5,
        vmax=n + 0.5,
        symmetric_cbar=False,
        display_mode=display_mode,
        cut_coords=cut_coords,
        figure=figure,
        axes=_SLICER_RECT,
        title=title,
        draw_cross=False,
        black_bg=False,
        resampling_interpolation="nearest",
    )
    colorbar_ax = _label_colorbar(display, "best layer")
    if colorbar_ax is not None:
        colorbar_ax.set_yticks(np.arange(1, n + 1), layers)
    return figure


def _surface_values(values, hemi, n_vertices):
    """Per-vertex array of one hemisphere, NaN where no value is given."""
    import xarray as xr

    if not isinstance(values, xr.DataArray):
        array = np.asarray(values, float)
        if array.shape != (n_vertices,):
            raise ValueError(
                f"'values' as an array must hold one value per vertex of the {hemi} "
                f"hemisphere ({n_vertices}); got shape {array.shape}. Pass a DataArray with "
                "'hemisphere' and 'vertex' neuroid coordinates for both hemispheres."
            )
        return array
    values = _neuroid_values(values, "values")
    missing = [c for c in ("hemisphere", "vertex") if c not in values.coords]
    if missing:
        raise ValueError(
            f"'values' lacks the neuroid coordinate(s) {missing}; surface maps need the "
            "hemisphere ('left'/'right') and the fsaverage vertex index of each neuroid."
        )
    sides = np.array([_HEMISPHERES.get(str(h).lower(), str(h)) for h in values.hemisphere.values])
    mask = sides == hemi
    vertices = np.asarray(values.vertex.values[mask], int)
    if len(vertices) and (vertices.min() < 0 or vertices.max() >= n_vertices):
        raise ValueError(
            f"'values' has vertex indices outside [0, {n_vertices}) for the {hemi} "
            "hemisphere; are they from another mesh resolution?"
        )
    out = np.full(n_vertices, np.nan)
    out[vertices] = np.asarray(values.values[mask], float)
    return out


def plot_surface_map(
    values,
    *,
    mesh="fsaverage5",
    hemi="both",
    view="lateral",
    surface="inflated",
    threshold=None,
    label="score",
    title=None,
    cmap="RdBu_r",
    vmax=None,
    figure=None,
):
    """Per-vertex values on the fsaverage surface with nilearn's ``plot_surf_stat_map``.

    Parameters
    ----------
    values : xarray.DataArray over neuroid or array of shape (n_vertices,)
        A DataArray with ``hemisphere`` (``"left"``/``"right"``) and ``vertex``
        (fsaverage vertex index) neuroid coordinates, or one hemisphere's full array
        (then ``hemi`` must be ``"left"`` or ``"right"``). Vertices without a value are
        not coloured.
    mesh : {"fsaverage5"}, default="fsaverage5"
        Template mesh; only the one nilearn ships is used, so nothing is downloaded.
    hemi : {"left", "right", "both"}, default="both"
    view : str, default="lateral"
        nilearn view (``"lateral"``, ``"medial"``, ``"ventral"``, ``"posterior"``, ...).
    surface : {"inflated", "pial", "white_matter"}, default="inflated"
    threshold : float, optional
        Values with smaller magnitude are not coloured.
    label : str, default="score"
        Colour-bar label, with its unit.
    title : str, optional
    cmap : str, default="RdBu_r"
    vmax : float, optional
        Colour limit; default the largest magnitude over the shown hemispheres.
    figure : matplotlib.figure.Figure, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_brain_map

    Examples
    --------
    >>> import numpy as np
    >>> figure = plot_surface_map(np.linspace(-1, 1, 10242), hemi="left")
    >>> figure.axes[-1].get_ylabel()
    'score'
    """
    plotting = import_optional("nilearn.plotting", extra="fmri", feature="Surface maps")
    datasets = import_optional("nilearn.datasets", extra="fmri", feature="Surface maps")
    if mesh not in _OFFLINE_MESHES:
        raise ValueError(
            f"mesh={mesh!r} is not shipped with nilearn and would have to be downloaded; "
            f"use one of {list(_OFFLINE_MESHES)} (project your data with "
            "nilearn.surface.vol_to_surf onto it)."
        )
    from neuroalign._validation import check_option

    check_option("hemi", hemi, ("left", "right", "both"))
    check_option("surface", surface, ("inflated", "pial", "white_matter"))
    meshes = datasets.load_fsaverage(mesh)
    sulcal = datasets.load_fsaverage_data(mesh, mesh_type=surface, data_type="sulcal")
    hemis = ["left", "right"] if hemi == "both" else [hemi]
    n_vertices = meshes[surface].parts["left"].n_vertices
    maps = {side: _surface_values(values, side, n_vertices) for side in hemis}
    finite = np.concatenate([m[np.isfinite(m)] for m in maps.values()])
    if finite.size == 0:
        raise ValueError("'values' has no finite value on the requested hemisphere(s).")
    vmax = float(np.abs(finite).max()) if vmax is None else vmax
    figure = figure if figure is not None else _slicer_figure((4.0 * len(hemis) + 1.0, 3.6))
    figure.subplots_adjust(left=0.0, right=0.92, bottom=0.0, top=0.84 if title else 0.92, wspace=0)
    for i, side in enumerate(hemis):
        ax = figure.add_subplot(1, len(hemis), i + 1, projection="3d")
        plotting.plot_surf_stat_map(
            meshes[surface].parts[side],
            np.nan_to_num(maps[side], nan=0.0),
            bg_map=sulcal.data.parts[side],
            hemi=side,
            view=view,
            threshold=threshold if threshold is not None else 1e-6,
            cmap=cmap,
            vmax=vmax,
            colorbar=i == len(hemis) - 1,
            axes=ax,
            figure=figure,
            title=f"{side} hemisphere ({view})",
        )
    if title:
        figure.suptitle(title, y=0.98)
    colorbar_ax = figure.axes[-1]
    colorbar_ax.set_ylabel(label)
    return figure
