"""Units of work: one independent computation each, planned from an experiment."""

import dataclasses
import hashlib
import json
import re

import numpy as np
import pandas as pd

from neuroalign.comparison import COLUMNS, compare, normalize_table

__all__ = ["TABLE_COLUMNS", "Unit", "UnitResult", "execute_unit", "plan_units"]

TABLE_COLUMNS = (*COLUMNS, "source")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of an experiment.

    Attributes
    ----------
    id : str
        Unique and file-name safe; ends in a hash of the unit's options and inputs, so a
        changed experiment never reuses a stale result.
    method : str
    source : str
        Data source (for fusion ``"<meeg>+<fmri>"``).
    subject : str
    model, layer : str
        Empty for analyses without a model (fusion, decoding).
    settings : dict
        Everything :func:`execute_unit` needs besides the data.
    inputs : tuple of (str, str, str)
        Keys of the input DataArrays: ``("source", name, subject)`` or
        ``("model", name, layer)``.
    """

    id: str
    method: str
    source: str
    subject: str
    model: str
    layer: str
    settings: dict
    inputs: tuple


@dataclasses.dataclass(frozen=True, eq=False)
class UnitResult:
    """Rows of the results table and the maps of one unit."""

    table: pd.DataFrame
    maps: dict


def _unit_id(parts, settings, input_hashes):
    label = "-".join(_UNSAFE.sub("_", p) for p in parts if p)
    digest = hashlib.sha256(json.dumps([settings, input_hashes], sort_keys=True).encode())
    return f"{label}-{digest.hexdigest()[:10]}"


def plan_units(experiment, sources, models, input_hash):
    """Split the analyses into independent units, in a fixed order.

    Parameters
    ----------
    experiment : Experiment
    sources : dict of str to dict of str to xarray.DataArray
        Source -> subject -> recording.
    models : dict of str to dict of str to xarray.DataArray
        Model -> layer -> activations.
    input_hash : callable
        Key tuple -> content hash of that input.

    Returns
    -------
    units : list of Unit
    """
    units = []
    base = {"seed": experiment.seed, "device": experiment.device}

    def add(parts, method, source, subject, model, layer, settings, inputs):
        settings = {**base, **settings}
        hashes = [input_hash(key) for key in inputs]
        units.append(
            Unit(
                _unit_id(parts, settings, hashes),
                method,
                source,
                subject,
                model,
                layer,
                settings,
                tuple(inputs),
            )
        )

    for analysis in experiment.analyses:
        options = analysis.model_dump(mode="json")
        if analysis.method == "fusion":
            for meeg_subject in sources[analysis.meeg]:
                for fmri_subject in sources[analysis.fmri]:
                    add(
                        ("fusion", analysis.meeg, meeg_subject, analysis.fmri, fmri_subject),
                        "fusion",
                        f"{analysis.meeg}+{analysis.fmri}",
                        f"{meeg_subject}+{fmri_subject}",
                        "",
                        "",
                        options,
                        [
                            ("source", analysis.meeg, meeg_subject),
                            ("source", analysis.fmri, fmri_subject),
                        ],
                    )
            continue
        for source in analysis.sources:
            for subject in sources[source]:
                if analysis.method == "decoding":
                    add(
                        ("decoding", source, subject),
                        "decoding",
                        source,
                        subject,
                        "",
                        "",
                        options,
                        [("source", source, subject)],
                    )
                    continue
                for model in analysis.models or list(models):
                    for layer in models[model]:
                        add(
                            (analysis.method, source, subject, model, layer),
                            analysis.method,
                            source,
                            subject,
                            model,
                            layer,
                            options,
                            [("model", model, layer), ("source", source, subject)],
                        )
    return units


def _comparison(unit, layer, recording):
    settings = unit.settings
    result = compare(
        {unit.model: {unit.layer: layer}},
        {unit.subject: recording},
        methods=(unit.method,),
        cv=settings["cv"],
        n_bootstrap=settings["n_bootstrap"],
        seed=settings["seed"],
        by=settings["by"],
        options={unit.method: settings["options"]},
        device=settings["device"],
    )
    # compare() made at most one map (keyed without the source); key it by the source too.
    key = f"{unit.method}/{unit.source}/{unit.model}/{unit.subject}"
    maps = dict(zip([key], result.maps.values()))
    return result.table, maps


def _fusion(unit, meeg, fmri):
    from neuroalign.rsa import fusion

    settings = unit.settings
    result = fusion(
        meeg,
        fmri,
        rdm_method=settings["rdm_method"],
        compare_method=settings["compare_method"],
        n_permutations=settings["n_permutations"],
        threshold_p=settings["threshold_p"],
        seed=settings["seed"],
        device=settings["device"],
    )
    curves = result.fusion
    sizes = (
        pd.Series(np.asarray(fmri["region"].values)).value_counts()
        if "region" in fmri.coords
        else pd.Series({r: fmri.sizes["neuroid"] for r in curves.region.values})
    )
    rows = [
        {
            "region": str(region),
            "metric": settings["compare_method"],
            "score": float(curves.values[i, t]),
            "n_neuroids": int(sizes[str(region)]),
            "time": float(time),
        }
        for i, region in enumerate(curves.region.values)
        for t, time in enumerate(curves.time.values)
    ]
    table = pd.DataFrame(rows).assign(
        model="",
        layer="",
        subject=unit.subject,
        method="fusion",
        n_stimuli=int(curves.attrs["n_stimuli"]),
    )
    key = f"{unit.source}/{unit.subject}"
    maps = {
        f"fusion/{key}": curves.assign_attrs(subject=unit.subject, source=unit.source),
        f"fusion_p/{key}": result.cluster_p,
    }
    return table, maps


def _decoding(unit, recording):
    from neuroalign.decoding import decode

    settings = unit.settings
    result = decode(
        recording,
        settings["target"],
        cv=settings["cv"],
        seed=settings["seed"],
        device=settings["device"],
        **settings["options"],
    )
    table = result.to_frame()
    table = table.assign(
        model="",
        layer="",
        subject=unit.subject,
        region="all",
        method="decoding",
        n_neuroids=recording.sizes["neuroid"],
    )
    curve = result.mean.assign_attrs(
        metric=result.metric, chance=float(result.chance), target=settings["target"]
    )
    curve.name = result.metric
    return table, {f"decoding/{unit.source}/{unit.subject}": curve}


_RUNNERS = {
    "encoding": _comparison,
    "rsa": _comparison,
    "similarity": _comparison,
    "fusion": _fusion,
    "decoding": _decoding,
}


def execute_unit(unit, *inputs):
    """Compute one unit.

    Parameters
    ----------
    unit : Unit
    *inputs : xarray.DataArray
        The DataArrays named by ``unit.inputs``, in that order.

    Returns
    -------
    result : UnitResult
        Rows with columns :data:`TABLE_COLUMNS` and the unit's maps.
    """
    table, maps = _RUNNERS[unit.method](unit, *inputs)
    table = table.assign(source=unit.source)
    for name in TABLE_COLUMNS:
        if name not in table:
            table[name] = np.nan
    return UnitResult(table=normalize_table(table[list(TABLE_COLUMNS)]), maps=maps)
