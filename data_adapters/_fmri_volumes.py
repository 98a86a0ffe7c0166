"""NIfTI volumes, masks and atlases → voxel neuroids (coordinates, regions) and back."""

import json

import numpy as np

from data_adapters._files import existing_file, read_table, reading
from neuroalign._optional import import_optional
from neuroalign.exceptions import DimensionError, SchemaError

__all__ = ["load_image", "select_voxels", "to_nifti", "voxel_coords"]

VOLUME_ATTRS = ("volume_shape", "affine")


def nibabel():
    return import_optional("nibabel", extra="fmri", feature="Reading NIfTI files")


def load_image(path, name):
    """A NIfTI image with its data read (so truncated files fail here, naming the file)."""
    nib = nibabel()
    path = existing_file(path, name)
    with reading(path, "NIfTI"):
        image = nib.load(path)
        data = np.asarray(image.dataobj, dtype=np.float32)
    return image, data


def select_voxels(shape, affine, *, mask=None, atlas=None, atlas_labels=None, default=None):
    """Voxel indices to keep, their region labels, and the mask/atlas they came from.

    Parameters
    ----------
    shape : tuple of 3 int
        Spatial shape of the data.
    affine : ndarray of shape (4, 4)
    mask, atlas : str, optional
        NIfTI files on the same grid: voxels where ``mask`` is non-zero are kept; an
        atlas's integer labels give ``region`` (and, without a mask, label > 0 is kept).
    atlas_labels : str or dict, optional
        TSV with columns ``index`` and ``name`` (BIDS ``dseg.tsv``) or a dict
        label -> name; default: the label numbers as text.
    default : ndarray of bool of shape ``shape``, optional
        Voxels to keep when neither mask nor atlas is given (default: all).

    Returns
    -------
    indices : ndarray of int of shape (n_voxels, 3)
    regions : ndarray of str of shape (n_voxels,) or None
    """
    keep = np.ones(shape, bool) if default is None else default
    labels = None
    if atlas is not None:
        labels = _grid_image(atlas, "atlas", shape, affine).round().astype(int)
        keep = labels > 0
    if mask is not None:
        keep = _grid_image(mask, "mask", shape, affine) != 0
    if not keep.any():
        raise SchemaError(
            "The mask/atlas keeps no voxel; check that it is non-zero inside the brain."
        )
    indices = np.argwhere(keep)
    if labels is None:
        return indices, None
    names = _label_names(atlas_labels)
    values = labels[tuple(indices.T)]
    regions = np.array([names.get(v, str(v)) if v > 0 else "unlabelled" for v in values])
    return indices, regions


def _grid_image(path, name, shape, affine):
    image, data = load_image(path, name)
    data = data.reshape(data.shape[:3]) if data.ndim == 4 and data.shape[3] == 1 else data
    if data.shape != tuple(shape):
        raise DimensionError(
            f"{name!r}: {str(path)!r} has shape {data.shape} but the data volumes have "
            f"shape {tuple(shape)}. Resample it to the data grid first, e.g. "
            "nilearn.image.resample_to_img(mask, data_image, interpolation='nearest')."
        )
    if not np.allclose(image.affine, affine, atol=1e-3):
        raise DimensionError(
            f"{name!r}: {str(path)!r} has a different affine from the data volumes; resample "
            "it to the data grid (nilearn.image.resample_to_img, interpolation='nearest')."
        )
    return data


def _label_names(atlas_labels):
    if atlas_labels is None:
        return {}
    if isinstance(atlas_labels, dict):
        return {int(k): str(v) for k, v in atlas_labels.items()}
    table = read_table(atlas_labels, "atlas_labels")
    if not {"index", "name"} <= set(table.columns):
        raise SchemaError(
            f"'atlas_labels': {str(atlas_labels)!r} needs columns 'index' and 'name' "
            f"(BIDS dseg.tsv); got {list(table.columns)}."
        )
    return dict(zip(table["index"].astype(int), table["name"].astype(str)))


def voxel_coords(indices, regions, shape, affine):
    """Neuroid ids, coordinates and volume attrs for :func:`neuroalign.data.responses`."""
    coords = {axis: indices[:, i].astype(np.int64) for i, axis in enumerate("xyz")}
    ids = np.array([f"vox_{x}_{y}_{z}" for x, y, z in indices])
    attrs = {
        "volume_shape": json.dumps([int(s) for s in shape]),
        "affine": json.dumps(np.asarray(affine, float).round(6).tolist()),
    }
    return ids, coords, regions, attrs


def to_nifti(scores, reference=None, *, path=None):
    """Write per-voxel scores back into a NIfTI volume, for plotting with nilearn.

    Parameters
    ----------
    scores : xarray.DataArray of shape (n_neuroids,) or (n_neuroids, n_maps)
        Dim ``neuroid`` with coords ``x``, ``y``, ``z`` (voxel indices), e.g. an
        encoding score per voxel. A second dim becomes the 4th image axis.
    reference : xarray.DataArray or str, optional
        Where the grid (shape and affine) comes from: a DataArray loaded by this module
        (its attrs ``volume_shape`` and ``affine``) or a NIfTI file. Default: the attrs
        of ``scores``.
    path : str, optional
        Also save the image there (``.nii`` or ``.nii.gz``).

    Returns
    -------
    image : nibabel.Nifti1Image
        float32; voxels without a score are NaN.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from data_adapters.fmri import to_nifti
    >>> s = xr.DataArray([0.5, 0.25], dims="neuroid", coords={"x": ("neuroid", [0, 1]),
    ...     "y": ("neuroid", [0, 0]), "z": ("neuroid", [0, 0])},
    ...     attrs={"volume_shape": "[2, 1, 1]", "affine": str(np.eye(4).tolist())})
    >>> to_nifti(s).get_fdata().ravel().tolist()
    [0.5, 0.25]
    """
    nib = nibabel()
    if "neuroid" not in scores.dims or not {"x", "y", "z"} <= set(scores.coords):
        raise SchemaError(
            "'scores' needs a 'neuroid' dim with voxel coords 'x', 'y', 'z' (as loaded by "
            f"data_adapters.fmri); got dims {scores.dims} and coords {list(scores.coords)}."
        )
    shape, affine = _grid_of(scores if reference is None else reference)
    values = scores.transpose("neuroid", ...).values.astype(np.float32)
    volume = np.full(tuple(shape) + values.shape[1:], np.nan, np.float32)
    index = tuple(np.asarray(scores[axis].values, int) for axis in "xyz")
    volume[index] = values
    image = nib.Nifti1Image(volume, affine)
    if path is not None:
        nib.save(image, path)
    return image


def _grid_of(reference):
    if isinstance(reference, str) or hasattr(reference, "__fspath__"):
        image, _ = load_image(reference, "reference")
        return image.shape[:3], image.affine
    missing = [key for key in VOLUME_ATTRS if key not in reference.attrs]
    if missing:
        raise SchemaError(
            f"The volume grid is unknown: attrs {missing} are missing. Pass 'reference' (a "
            "NIfTI file on the data grid or an array loaded by data_adapters.fmri)."
        )
    shape = json.loads(reference.attrs["volume_shape"])
    affine = np.array(json.loads(reference.attrs["affine"]), float)
    return shape, affine
