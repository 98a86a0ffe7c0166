"""Scalp topographies of per-channel values with MNE."""

import numpy as np

from neuroalign._optional import import_optional
from neuroalign.plotting._common import new_figure

__all__ = ["plot_topomap"]


def _positions(values, info, sphere):
    """``(pos, sphere)`` for mne.viz.plot_topomap: an Info or (n, 2) head-layout positions."""
    if info is not None:
        return info, sphere
    missing = [c for c in ("x", "y") if c not in values.coords]
    if missing:
        raise ValueError(
            f"'values' lacks the channel coordinate(s) {missing} along 'neuroid' and no "
            "info= was given; pass an mne.Info with the montage or channel positions x, y."
        )
    pos = np.stack([np.asarray(values[c].values, float) for c in ("x", "y")], axis=1)
    if sphere is None:
        sphere = float(np.linalg.norm(pos, axis=1).max())
    return pos, sphere


def plot_topomap(
    values,
    *,
    info=None,
    times=None,
    label="score",
    cmap="RdBu_r",
    vlim=None,
    sphere=None,
    names=False,
    figure=None,
):
    """Per-channel values as scalp maps (one panel per time), via ``mne.viz.plot_topomap``.

    Parameters
    ----------
    values : xarray.DataArray of dims (neuroid,) or (neuroid, time)
        One value per channel; channels carry ``x, y`` head-layout positions (x right,
        y towards the nose) unless ``info`` is given.
    info : mne.Info, optional
        Channel positions (a montage), in the order of ``values``' channels.
    times : sequence of float, optional
        Times (s) to show when ``values`` has a time dimension (nearest sample).
    label : str, default="score"
        Colour-bar label, with its unit.
    cmap : str, default="RdBu_r"
    vlim : (float, float), optional
        Colour limits shared by all panels; default symmetric around 0 at the largest
        magnitude.
    sphere : float, optional
        Head radius in position units; default the farthest channel's distance (so the
        outermost channels sit on the head outline) with positions, MNE's with an Info.
    names : bool, default=False
        Print channel names.
    figure : matplotlib.figure.Figure, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_time_course

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> angle = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> radius = np.tile([0.5, 1.0], 4)
    >>> values = xr.DataArray(np.cos(angle), dims="neuroid", coords={
    ...     "x": ("neuroid", radius * np.cos(angle)), "y": ("neuroid", radius * np.sin(angle))})
    >>> plot_topomap(values).axes[-1].get_ylabel()
    'score'
    """
    mne = import_optional("mne", extra="eeg", feature="Topographic maps")
    import xarray as xr

    if not isinstance(values, xr.DataArray) or "neuroid" not in values.dims:
        raise TypeError(
            "'values' must be an xarray.DataArray with a 'neuroid' (channel) dimension; "
            f"got {type(values).__name__}."
        )
    values = values.squeeze(drop=True) if values.ndim > 1 else values
    if "time" in values.dims:
        if times is None:
            raise ValueError(
                "'values' is time-resolved; pass times=[...] (seconds) to choose the maps."
            )
        panels = [(f"{t:.3f} s", values.sel(time=t, method="nearest")) for t in times]
    else:
        panels = [(None, values)]
    for _, panel in panels:
        if panel.dims != ("neuroid",):
            raise ValueError(
                f"'values' must be per channel (neuroid[, time]); got dims {values.dims}."
            )
    pos, sphere = _positions(values, info, sphere)
    data = np.stack([np.asarray(p.values, float) for _, p in panels])
    if vlim is None:
        limit = float(np.nanmax(np.abs(data))) or 1.0
        vlim = (-limit, limit)
    figure = figure if figure is not None else new_figure((2.6 * len(panels) + 1.0, 2.8))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    channel_names = [str(n) for n in values["neuroid"].values] if names else None
    for ax, (title, _), row in zip(axes, panels, data):
        image, _ = mne.viz.plot_topomap(
            row,
            pos,
            axes=ax,
            show=False,
            cmap=cmap,
            vlim=vlim,
            sphere=sphere,
            names=channel_names,
            contours=4,
        )
        if title:
            ax.set_title(title)
    colorbar = figure.colorbar(image, ax=list(axes), shrink=0.8)
    colorbar.set_label(label)
    return figure
