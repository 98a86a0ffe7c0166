"""One function per comparison method: layers of one model × one recording -> rows and maps.

Each function reuses a public engine (:mod:`neuroalign.encoding`,
:mod:`neuroalign.rsa`, :mod:`neuroalign.similarity`) and only reshapes its output
into the rows of :data:`COLUMNS` plus per-neuroid / per-time maps.
"""

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.comparison._result import COLUMNS
from neuroalign.data import select_region
from neuroalign.exceptions import DimensionError

__all__ = ["METHODS"]

ALL_REGIONS = "all"


def _region_masks(recording, by):
    if by and by in recording.coords:
        labels = np.asarray(recording[by].values).astype(str)
        return {str(r): labels == r for r in pd.unique(labels)}
    return {ALL_REGIONS: np.ones(recording.sizes["neuroid"], bool)}


def _regions(recording, by):
    if by and by in recording.coords:
        return {
            r: select_region(recording, r) if by == "region" else recording.isel(neuroid=m)
            for r, m in _region_masks(recording, by).items()
        }
    return {ALL_REGIONS: recording}


def _frame(rows, **constant):
    frame = pd.DataFrame(rows)
    for name, value in constant.items():
        frame[name] = value
    for name in COLUMNS:
        if name not in frame:
            frame[name] = np.nan
    return frame[list(COLUMNS)]


def _encoding_over_time(result, masks):
    scores = result.scores
    rows = []
    for region, mask in masks.items():
        for metric in ("pearson", "r2"):
            mean = scores[metric].isel(neuroid=mask).mean("neuroid")  # (layer, time)
            low = high = np.full(mean.shape, np.nan)
            if f"{metric}_bootstrap" in scores:
                samples = scores[f"{metric}_bootstrap"].isel(neuroid=mask).mean("neuroid")
                low, high = np.quantile(samples.values, [0.025, 0.975], axis=1)
            ceiling = np.full(mean.sizes["time"], np.nan)
            if result.ceiling is not None:
                ceiling = result.ceiling.isel(neuroid=mask).mean("neuroid").values
                ceiling = ceiling**2 if metric == "r2" else ceiling
            for i, layer in enumerate(mean.layer.values):
                for t, time in enumerate(mean.time.values):
                    rows.append(
                        {
                            "layer": str(layer),
                            "region": region,
                            "metric": metric,
                            "score": float(mean.values[i, t]),
                            "ci_low": float(low[i, t]),
                            "ci_high": float(high[i, t]),
                            "ceiling": float(ceiling[t]),
                            "n_neuroids": int(mask.sum()),
                            "time": float(time),
                        }
                    )
    return rows


def encoding(layers, recording, *, model, subject, settings, options):
    """Cross-validated ridge encoding (:func:`neuroalign.encoding.encoding_scores`).

    Returns
    -------
    rows : pandas.DataFrame
    maps : dict of str to xarray.DataArray
        ``"encoding/<model>/<subject>"``: Pearson r of dims (layer, neuroid[, time]).
    """
    from neuroalign.encoding import encoding_scores

    result = encoding_scores(
        layers,
        recording,
        cv=settings["cv"],
        n_bootstrap=settings["n_bootstrap"],
        seed=settings["seed"],
        device=settings["device"],
        max_memory=settings["max_memory"],
        **options,
    )
    by = settings["by"]
    if "time" in recording.dims:
        rows = _encoding_over_time(result, _region_masks(recording, by))
    else:
        table = result.to_frame(by=by if by in recording.coords else None)
        table["region"] = table["region"].fillna(ALL_REGIONS).astype(str)
        rows = table.drop(columns=["model", "subject", "method"]).to_dict("records")
    pearson = result.scores["pearson"].copy()
    pearson.attrs = {"model": model, "subject": subject, "method": "encoding", "metric": "pearson"}
    frame = _frame(
        rows, model=model, subject=subject, method="encoding", n_stimuli=result.n_stimuli
    )
    return frame, {f"encoding/{model}/{subject}": pearson}


def _restrict(da, stimuli):
    keep = np.isin(np.asarray(da.stimulus_id.values), np.asarray(list(stimuli)))
    return da.isel(presentation=np.flatnonzero(keep))


def rsa(layers, recording, *, model, subject, settings, options):
    """RSA of each layer with each region (:func:`neuroalign.rsa.rsa_scores`), or, for
    time-resolved recordings, at each time point (:func:`neuroalign.rsa.time_resolved_rsa`).

    Returns
    -------
    rows : pandas.DataFrame
    maps : dict of str to xarray.DataArray
        For time-resolved recordings, ``"rsa/<model>/<subject>"`` of dims (layer,
        region, time).
    """
    from neuroalign.rsa import compute_rdms, rsa_scores, time_resolved_rsa

    rdm_method = options.get("rdm_method", "correlation")
    compare_method = options.get("compare_method", "rho_a")
    regions = _regions(recording, settings["by"])
    common = {"device": settings["device"], "max_memory": settings["max_memory"]}
    if "time" not in recording.dims:
        n_bootstrap = settings["n_bootstrap"]
        table = rsa_scores(
            layers,
            regions,
            rdm_method=rdm_method,
            compare_method=compare_method,
            bootstrap="pattern" if n_bootstrap >= 2 else None,
            n_bootstrap=n_bootstrap,
            seed=settings["seed"],
            **common,
        )
        rows = _pair_rows(table, regions, compare_method)
        return _frame(rows, model=model, subject=subject, method="rsa"), {}
    stimuli = set(np.asarray(recording.stimulus_id.values).tolist())
    layer_rdms = compute_rdms(
        {name: _restrict(da, stimuli) for name, da in layers.items()}, method=rdm_method, **common
    )
    curves = [
        time_resolved_rsa(
            roi, layer_rdms, rdm_method=rdm_method, compare_method=compare_method, **common
        )
        for roi in regions.values()
    ]
    stacked = xr.concat(curves, dim=pd.Index(list(regions), name="region"))
    stacked = stacked.rename(model="layer").transpose("layer", "region", "time")
    stacked.attrs = {
        "model": model,
        "subject": subject,
        "method": "rsa",
        "metric": compare_method,
        "rdm_method": rdm_method,
        "n_stimuli": int(curves[0].attrs["n_stimuli"]),
    }
    rows = [
        {
            "layer": str(layer),
            "region": str(region),
            "metric": compare_method,
            "score": float(stacked.values[i, j, t]),
            "n_neuroids": regions[str(region)].sizes["neuroid"],
            "time": float(time),
        }
        for i, layer in enumerate(stacked.layer.values)
        for j, region in enumerate(stacked.region.values)
        for t, time in enumerate(stacked.time.values)
    ]
    frame = _frame(
        rows, model=model, subject=subject, method="rsa", n_stimuli=stacked.attrs["n_stimuli"]
    )
    stacked.name = compare_method
    return frame, {f"rsa/{model}/{subject}": stacked}


def similarity(layers, recording, *, model, subject, settings, options):
    """Representational similarity (CKA, Procrustes, CCA) of each layer with each region
    (:func:`neuroalign.similarity.similarity_scores`).

    Returns
    -------
    rows : pandas.DataFrame
    maps : dict
        Empty.
    """
    from neuroalign.similarity import similarity_scores

    if "time" in recording.dims:
        raise DimensionError(
            f"method 'similarity' needs recordings without a time dimension; {subject!r} has "
            f"{recording.sizes['time']} time points. Average over a time window first, e.g. "
            "recording.sel(time=slice(0.1, 0.3)).mean('time')."
        )
    metric = options.get("method", "cka")
    regions = _regions(recording, settings["by"])
    n_bootstrap = settings["n_bootstrap"]
    table = similarity_scores(
        layers,
        regions,
        bootstrap=n_bootstrap if n_bootstrap >= 2 else None,
        seed=settings["seed"],
        device=settings["device"],
        max_memory=settings["max_memory"],
        **options,
    )
    rows = _pair_rows(table, regions, metric)
    return _frame(rows, model=model, subject=subject, method="similarity"), {}


def _pair_rows(table, regions, metric):
    """Result rows from a layer × region table (``source_a``, ``source_b``, score, CI)."""
    return [
        {
            "layer": row.source_a,
            "region": row.source_b,
            "metric": metric,
            "score": row.score,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "n_stimuli": int(row.n_stimuli),
            "n_neuroids": regions[row.source_b].sizes["neuroid"],
        }
        for row in table.itertuples()
    ]


METHODS = {"encoding": encoding, "rsa": rsa, "similarity": similarity}
