"""fMRI files → response matrices: beta maps, BOLD runs (single-trial GLM), surfaces.

- :func:`load_betas`: one 4-D NIfTI (or one 3-D file per presentation) of single-trial
  or condition betas, with a stimulus table.
- :func:`load_bold`: 4-D BOLD runs + BIDS ``events.tsv`` → single-trial betas with
  nilearn's GLM (LSA or LSS), with confounds.
- :func:`load_surface`: GIfTI data on a surface (e.g. fsaverage) → vertex neuroids.
- :func:`to_nifti` / :func:`to_surface`: per-neuroid scores back to images for plotting.

Masks and atlases give the neuroid coords ``region`` and voxel indices ``x``, ``y``,
``z``. All loaders are adapters of the ``neuroalign.adapters`` entry-point group.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from data_adapters._files import (
    as_paths,
    check_stimuli,
    read_table,
    reading,
    stimulus_column,
)
from data_adapters._fmri_glm import METHODS, read_confounds, single_trial_betas
from data_adapters._fmri_volumes import load_image, select_voxels, to_nifti, voxel_coords
from neuroalign._optional import import_optional
from neuroalign._validation import check_option
from neuroalign.data import responses
from neuroalign.exceptions import DimensionError, SchemaError

__all__ = ["load_betas", "load_bold", "load_surface", "to_nifti", "to_surface"]

HEMISPHERES = ("left", "right")


def load_betas(
    path,
    *,
    stimuli,
    mask=None,
    atlas=None,
    atlas_labels=None,
    stimulus_column=None,
    columns=None,
    drop=None,
    subject=None,
):
    """Load beta maps (one volume per presentation) with their stimulus table.

    Parameters
    ----------
    path : str or list of str
        One 4-D NIfTI whose volumes are presentations, or one 3-D NIfTI per
        presentation, in the order of ``stimuli``.
    stimuli : str or list of str
        A table with one row per volume (TSV, or CSV by extension; header row) whose
        stimulus column is ``stimulus_column`` or the first of ``stimulus_id``,
        ``trial_type``, ``stim_file``, ``value``; other columns become presentation
        coords. A list gives the stimulus ids directly.
    mask : str, optional
        NIfTI on the same grid; non-zero voxels are kept. Default: the atlas' labelled
        voxels, else every voxel that is non-zero in some volume.
    atlas : str, optional
        Integer label image on the same grid → neuroid coord ``region``.
    atlas_labels : str or dict, optional
        TSV with columns ``index`` and ``name`` (BIDS ``dseg.tsv``) or {label: name}.
    stimulus_column : str, optional
    columns : list of str, optional
        Column names of a headerless, whitespace-separated table (e.g. PyMVPA's
        ``attributes.txt``: ``["stimulus_id", "run"]``).
    drop : list of str, optional
        Stimulus ids whose volumes are left out (e.g. ``["rest"]``).
    subject : str, optional

    Returns
    -------
    responses : xarray.DataArray of shape (n_presentations, n_voxels)
        ``modality="fmri"``; neuroid coords ``x``, ``y``, ``z`` (voxel indices) and
        ``region`` with an atlas; attrs ``volume_shape`` and ``affine`` (JSON) for
        :func:`to_nifti`.

    Raises
    ------
    SchemaError
        If a file is truncated or corrupt, or the table has no stimulus column.
    DimensionError
        If the table and the volumes differ in length, or the mask/atlas grid differs.

    Examples
    --------
    >>> import numpy as np, nibabel as nib, tempfile, os
    >>> from data_adapters.fmri import load_betas
    >>> path = os.path.join(tempfile.mkdtemp(), "betas.nii.gz")
    >>> nib.save(nib.Nifti1Image(np.ones((2, 2, 1, 3), np.float32), np.eye(4)), path)
    >>> load_betas(path, stimuli=["a", "b", "c"]).shape
    (3, 4)
    """
    paths = as_paths(path, "path")
    images = [load_image(p, "path") for p in paths]
    if len(images) == 1:
        image, data = images[0]
        data = data[..., None] if data.ndim == 3 else data
    else:
        image = images[0][0]
        shapes = {d.shape[:3] for _, d in images}
        if len(shapes) > 1:
            raise DimensionError(
                f"'path': the beta files have different grids {sorted(shapes)}; resample "
                "them to one grid."
            )
        data = np.stack([d.reshape(d.shape[:3]) for _, d in images], axis=-1)
    if data.ndim != 4:
        raise DimensionError(
            f"'path': {str(paths[0])!r} has shape {data.shape}; expected a 3-D or 4-D image."
        )
    table, ids = _stimulus_table(stimuli, stimulus_column, columns)
    if len(ids) != data.shape[3]:
        raise DimensionError(
            f"'stimuli' lists {len(ids)} presentations but 'path' holds {data.shape[3]} "
            "volumes; give one row per volume, in order."
        )
    keep_rows = ~np.isin(ids, [str(d) for d in drop or ()])
    indices, regions = select_voxels(
        data.shape[:3],
        image.affine,
        mask=mask,
        atlas=atlas,
        atlas_labels=atlas_labels,
        default=(data != 0).any(axis=3),
    )
    values = data[tuple(indices.T)].T[keep_rows]
    extra = {c: table[c].to_numpy()[keep_rows] for c in table.columns if c != "stimulus_id"}
    return _wrap(values, ids[keep_rows], extra, indices, regions, image, subject, paths[0], "a.u.")


def load_bold(
    bold,
    events,
    *,
    t_r=None,
    method="lsa",
    mask=None,
    atlas=None,
    atlas_labels=None,
    confounds=None,
    confound_columns=None,
    stimuli=None,
    stimulus_column=None,
    drop=None,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    noise_model="ar1",
    subject=None,
):
    """Single-trial betas from 4-D BOLD runs and their BIDS events with nilearn's GLM.

    Parameters
    ----------
    bold : str or list of str
        One 4-D NIfTI per run.
    events : str or list of str
        One BIDS ``events.tsv`` per run (columns ``onset``, ``duration`` in seconds from
        the run's first scan, and a stimulus column, see ``stimulus_column``).
    t_r : float, optional
        Repetition time in seconds; default: the 4th zoom of the NIfTI header.
    method : {"lsa", "lss"}, default="lsa"
        ``"lsa"``: one GLM per run with one regressor per trial; ``"lss"``: one GLM
        per trial (that trial vs all others), more robust when trials are close.
    mask, atlas, atlas_labels
        As in :func:`load_betas`. Default mask: voxels with a non-zero mean in run 1.
    confounds : str or list of str, optional
        One TSV per run (one row per scan), e.g. fMRIPrep's ``desc-confounds_timeseries``.
    confound_columns : list of str, optional
        Columns of the confounds to use (default: all).
    stimuli : list of str, optional
        The known stimulus set; events naming other stimuli are an error.
    stimulus_column : str, optional
        Default: the first of ``stimulus_id``, ``trial_type``, ``stim_file``, ``value``.
    drop : list of str, optional
        Events with these stimulus ids are modelled but get no beta.
    hrf_model, drift_model, high_pass, noise_model
        Passed to nilearn (``make_first_level_design_matrix`` and ``run_glm``).
    subject : str, optional

    Returns
    -------
    responses : xarray.DataArray of shape (n_trials, n_voxels)
        One row per kept event of every run; presentation coords ``run`` (1-based),
        ``onset`` and the events' other columns; neuroid coords as :func:`load_betas`.

    Raises
    ------
    SchemaError
        A corrupt file, events without a stimulus column or with unknown stimuli,
        events after the end of the run, confounds of the wrong length.
    DimensionError
        Runs on different grids, or a mask/atlas of another shape.

    See Also
    --------
    load_betas : when the betas are already estimated.
    """
    check_option("method", method, METHODS)
    runs = as_paths(bold, "bold")
    event_files = as_paths(events, "events")
    confound_files = None if confounds is None else as_paths(confounds, "confounds")
    for name, files in (("events", event_files), ("confounds", confound_files)):
        if files is not None and len(files) != len(runs):
            raise DimensionError(
                f"'{name}' has {len(files)} files but 'bold' has {len(runs)} runs; give "
                "one per run, in the same order."
            )
    glm_options = {
        "hrf_model": hrf_model,
        "drift_model": drift_model,
        "high_pass": high_pass,
        "noise_model": noise_model,
    }
    blocks, ids, extras = [], [], []
    first_image = indices = regions = None
    for run, run_path in enumerate(runs):
        image, data = load_image(run_path, "bold")
        if data.ndim != 4:
            raise DimensionError(
                f"'bold': {str(run_path)!r} has shape {data.shape}; a BOLD run is 4-D."
            )
        if first_image is None:
            first_image = image
            indices, regions = select_voxels(
                data.shape[:3],
                image.affine,
                mask=mask,
                atlas=atlas,
                atlas_labels=atlas_labels,
                default=data.mean(axis=3) != 0,
            )
        elif data.shape[:3] != first_image.shape[:3]:
            raise DimensionError(
                f"'bold': {str(run_path)!r} has grid {data.shape[:3]} but run 1 has "
                f"{first_image.shape[:3]}; resample the runs to one grid."
            )
        run_t_r = _repetition_time(t_r, image, run_path)
        Y = data[tuple(indices.T)].T.astype(np.float64)
        table = _events(event_files[run], stimulus_column, len(Y) * run_t_r, stimuli)
        regressors = (
            None
            if confound_files is None
            else read_confounds(confound_files[run], len(Y), confound_columns)
        )
        betas = single_trial_betas(
            Y,
            table["onset"].to_numpy(),
            table["duration"].to_numpy(),
            t_r=run_t_r,
            method=method,
            confounds=regressors,
            glm_options=glm_options,
        )
        keep = ~table["stimulus_id"].isin([str(d) for d in drop or ()]).to_numpy()
        blocks.append(betas[keep])
        ids.append(table["stimulus_id"].to_numpy()[keep])
        extra = table.drop(columns=["stimulus_id", "duration"])[keep].assign(run=run + 1)
        extras.append(extra)
    extra = pd.concat(extras, ignore_index=True)
    extra_coords = {c: extra[c].to_numpy() for c in extra.columns}
    return _wrap(
        np.concatenate(blocks),
        np.concatenate(ids),
        extra_coords,
        indices,
        regions,
        first_image,
        subject,
        runs[0],
        "beta (a.u.)",
    )


def load_surface(paths, *, stimuli, hemispheres=None, stimulus_column=None, subject=None):
    """Load per-presentation maps on a surface mesh (GIfTI, e.g. fsaverage) as vertex neuroids.

    Parameters
    ----------
    paths : str or list of str
        One GIfTI functional file per hemisphere (``.func.gii``/``.shape.gii``) whose
        data arrays are presentations (one array per presentation, or one 2-D array of
        shape (n_vertices, n_presentations)).
    stimuli : str or list of str
        As in :func:`load_betas`.
    hemispheres : list of {"left", "right"}, optional
        One per file; default: read from the file name (``hemi-L``/``hemi-R``,
        ``lh.``/``rh.``, ``.L.``/``.R.``).
    stimulus_column : str, optional
    subject : str, optional

    Returns
    -------
    responses : xarray.DataArray of shape (n_presentations, n_vertices_total)
        Neuroid coords ``hemisphere`` and ``vertex``; attrs ``n_vertices`` (JSON
        {hemisphere: count}) for :func:`to_surface`.

    Examples
    --------
    >>> import numpy as np, nibabel as nib, tempfile, os
    >>> from data_adapters.fmri import load_surface
    >>> path = os.path.join(tempfile.mkdtemp(), "sub-01_hemi-L_betas.func.gii")
    >>> arrays = [nib.gifti.GiftiDataArray(np.full(5, v, np.float32)) for v in (1.0, 2.0)]
    >>> nib.save(nib.gifti.GiftiImage(darrays=arrays), path)
    >>> load_surface(path, stimuli=["a", "b"]).hemisphere.values[:2].tolist()
    ['left', 'left']
    """
    nib = import_optional("nibabel", extra="fmri", feature="Reading GIfTI files")
    files = as_paths(paths, "paths")
    if hemispheres is None:
        hemispheres = [_hemisphere_of(path) for path in files]
    if len(hemispheres) != len(files):
        raise DimensionError(
            f"'hemispheres' has {len(hemispheres)} entries for {len(files)} files; give one "
            "per file."
        )
    table, ids = _stimulus_table(stimuli, stimulus_column, None)
    blocks, hemi, vertex, counts = [], [], [], {}
    for path, hemisphere in zip(files, hemispheres):
        check_option("hemispheres", hemisphere, HEMISPHERES)
        with reading(path, "GIfTI"):
            image = nib.load(path)
            arrays = [np.asarray(a.data, np.float32) for a in image.darrays]
        data = arrays[0] if len(arrays) == 1 and arrays[0].ndim == 2 else np.stack(arrays, 1)
        if data.shape[1] != len(ids):
            raise DimensionError(
                f"'paths': {str(path)!r} holds {data.shape[1]} maps but 'stimuli' lists "
                f"{len(ids)} presentations; give one row per map."
            )
        blocks.append(data.T)
        hemi += [hemisphere] * data.shape[0]
        vertex.append(np.arange(data.shape[0]))
        counts[hemisphere] = int(data.shape[0])
    vertex = np.concatenate(vertex)
    da = responses(
        np.concatenate(blocks, axis=1),
        ids,
        modality="fmri",
        subject=subject,
        neuroid_ids=[f"{h}_{v}" for h, v in zip(hemi, vertex)],
        presentation_coords={c: table[c].to_numpy() for c in table.columns if c != "stimulus_id"},
        neuroid_coords={"hemisphere": np.array(hemi), "vertex": vertex},
        units="a.u.",
        source=str(files[0]),
    )
    da.attrs["n_vertices"] = json.dumps(counts)
    return da


def to_surface(scores, reference=None):
    """Per-vertex scores back to one full-length array per hemisphere, for nilearn plotting.

    Parameters
    ----------
    scores : xarray.DataArray of shape (n_neuroids,)
        Dim ``neuroid`` with coords ``hemisphere`` and ``vertex``.
    reference : xarray.DataArray, optional
        Gives attrs ``n_vertices`` (default: those of ``scores``).

    Returns
    -------
    maps : dict of str to ndarray of shape (n_vertices,)
        ``"left"``/``"right"`` → values, NaN where there is no score; pass one to
        ``nilearn.plotting.plot_surf_stat_map``.

    Examples
    --------
    >>> import xarray as xr
    >>> from data_adapters.fmri import to_surface
    >>> s = xr.DataArray([1.0], dims="neuroid", coords={"hemisphere": ("neuroid", ["left"]),
    ...     "vertex": ("neuroid", [1])}, attrs={"n_vertices": '{"left": 3}'})
    >>> to_surface(s)["left"].tolist()
    [nan, 1.0, nan]
    """
    source = scores if reference is None else reference
    if "n_vertices" not in source.attrs or not {"hemisphere", "vertex"} <= set(scores.coords):
        raise SchemaError(
            "'scores' needs coords 'hemisphere' and 'vertex' and attrs 'n_vertices' (as "
            "loaded by data_adapters.fmri.load_surface); pass 'reference' for the attrs."
        )
    maps = {}
    for hemisphere, n in json.loads(source.attrs["n_vertices"]).items():
        values = np.full(n, np.nan)
        rows = scores["hemisphere"].values == hemisphere
        values[scores["vertex"].values[rows].astype(int)] = scores.values[rows]
        maps[hemisphere] = values
    return maps


def _hemisphere_of(path):
    name = Path(path).name
    for tokens, hemisphere in (
        (("hemi-L", "lh.", ".L.", "_L."), "left"),
        (("hemi-R", "rh.", ".R.", "_R."), "right"),
    ):
        if any(token in name for token in tokens):
            return hemisphere
    raise SchemaError(
        f"'paths': cannot tell the hemisphere of {str(path)!r} from its name; pass "
        "'hemispheres' (one of 'left', 'right' per file)."
    )


def _stimulus_table(stimuli, column, columns):
    if isinstance(stimuli, (str, Path)):
        table = read_table(stimuli, "stimuli", columns=columns)
        name = stimulus_column(table, stimuli, "stimuli", column)
        table = table.rename(columns={name: "stimulus_id"})
    else:
        table = pd.DataFrame({"stimulus_id": [str(s) for s in stimuli]})
    return table, table["stimulus_id"].to_numpy(dtype=str)


def _events(path, column, run_length, stimuli):
    table = read_table(path, "events")
    missing = [c for c in ("onset", "duration") if c not in table.columns]
    if missing:
        raise SchemaError(
            f"'events': {str(path)!r} lacks columns {missing}; BIDS events need 'onset' and "
            "'duration' in seconds."
        )
    name = stimulus_column(table, path, "events", column)
    table = table.rename(columns={name: "stimulus_id"})
    table = table.drop(columns=[c for c in table.columns if c in ("trial_type", "value")])
    for c in ("onset", "duration"):
        table[c] = pd.to_numeric(table[c], errors="coerce")
        if table[c].isna().any():
            raise SchemaError(f"'events': {str(path)!r} has non-numeric values in {c!r}.")
    late = table["onset"] >= run_length
    if late.any():
        raise SchemaError(
            f"'events': {str(path)!r} has {int(late.sum())} onsets at or after the end of "
            f"its run ({run_length:g} s), e.g. {table['onset'][late].iloc[0]:g} s; is it the "
            "events file of another run, or are onsets in ms?"
        )
    check_stimuli(table["stimulus_id"], stimuli, f"{str(path)!r}", "events")
    return table.reset_index(drop=True)


def _repetition_time(t_r, image, path):
    if t_r is not None:
        return float(t_r)
    zooms = image.header.get_zooms()
    if len(zooms) < 4 or not zooms[3] > 0:
        raise SchemaError(
            f"'bold': {str(path)!r} has no repetition time in its header; pass 't_r' (seconds)."
        )
    return float(zooms[3])


def _wrap(values, ids, extra, indices, regions, image, subject, source, units):
    neuroid_ids, coords, regions, attrs = voxel_coords(
        indices, regions, image.shape[:3], image.affine
    )
    extra = {k: np.asarray(v) for k, v in extra.items()}
    da = responses(
        values.astype(np.float32),
        ids,
        modality="fmri",
        subject=subject,
        neuroid_ids=neuroid_ids,
        regions=regions,
        presentation_coords=extra,
        neuroid_coords=coords,
        units=units,
        source=str(source),
    )
    da.attrs.update(attrs)
    return da
