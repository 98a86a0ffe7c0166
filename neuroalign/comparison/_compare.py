"""``compare``: every model layer against every recording, with several methods."""

from collections.abc import Mapping

import pandas as pd
import xarray as xr

from neuroalign._validation import check_option, check_positive_int, close_matches_hint
from neuroalign.comparison._methods import METHODS
from neuroalign.comparison._provenance import hash_data, versions
from neuroalign.comparison._result import COLUMNS, ComparisonResult

__all__ = ["compare"]

# Options each method accepts besides the shared ones (None: passed to the engine as is).
_RSA_OPTIONS = ("rdm_method", "compare_method")


def _is_layers(value):
    return isinstance(value, Mapping) and all(isinstance(v, xr.DataArray) for v in value.values())


def as_models(features):
    """``{model: {layer: DataArray}}`` from one layer, one model's layers or several models.

    Parameters
    ----------
    features : xarray.DataArray, Mapping of str to DataArray, or Mapping of str to Mapping

    Returns
    -------
    models : dict of str to dict of str to xarray.DataArray
    """
    if isinstance(features, xr.DataArray):
        layer = features.attrs.get("layer") or features.name or "features"
        return {str(features.attrs.get("model") or "model"): {str(layer): features}}
    if isinstance(features, Mapping) and features:
        if _is_layers(features):
            first = next(iter(features.values()))
            return {
                str(first.attrs.get("model") or "model"): {str(k): v for k, v in features.items()}
            }
        if all(_is_layers(v) and v for v in features.values()):
            return {
                str(m): {str(k): v for k, v in layers.items()} for m, layers in features.items()
            }
    raise TypeError(
        "'features' must be a DataArray (one layer), a mapping of layer name to DataArray "
        "(one model) or a mapping of model name to such mappings; got "
        f"{type(features).__name__}."
    )


def as_subjects(responses):
    """``{subject: DataArray}`` from one recording or a mapping of them.

    Parameters
    ----------
    responses : xarray.DataArray or Mapping of str to DataArray

    Returns
    -------
    subjects : dict of str to xarray.DataArray
    """
    if isinstance(responses, xr.DataArray):
        return {str(responses.attrs.get("subject") or "subject"): responses}
    if _is_layers(responses) and responses:
        return {str(k): v for k, v in responses.items()}
    raise TypeError(
        "'responses' must be a DataArray or a non-empty mapping of subject name to DataArray; "
        f"got {type(responses).__name__}."
    )


def _check_options(methods, options):
    options = dict(options or {})
    for method in options:
        if method not in methods:
            raise ValueError(
                f"'options' has an entry for {method!r}, which is not in methods={methods!r}."
                + close_matches_hint(method, methods)
            )
    for key in options.get("rsa", {}):
        if key not in _RSA_OPTIONS:
            raise ValueError(
                f"Unknown RSA option {key!r}; expected one of {_RSA_OPTIONS}."
                + close_matches_hint(key, _RSA_OPTIONS)
            )
    return {method: dict(options.get(method, {})) for method in methods}


def compare(
    features,
    responses,
    *,
    methods=("encoding", "rsa"),
    cv=5,
    n_bootstrap=0,
    seed=0,
    by="region",
    options=None,
    device=None,
    max_memory=None,
):
    """Compare every layer of every model with every subject, region (and time point).

    A thin sweep over the analysis engines: ``"encoding"`` is
    :func:`neuroalign.encoding.encoding_scores` (cross-validated ridge, Pearson r and
    R² with noise ceilings from repetitions), ``"rsa"`` is
    :func:`neuroalign.rsa.rsa_scores` or, for recordings with a time dimension,
    :func:`neuroalign.rsa.time_resolved_rsa`, and ``"similarity"`` is
    :func:`neuroalign.similarity.similarity_scores`.

    Parameters
    ----------
    features : xarray.DataArray or Mapping
        One layer, an ordered mapping layer -> activations (one model, shallow to
        deep) or a mapping model -> such a mapping.
    responses : xarray.DataArray or Mapping of str to xarray.DataArray
        One recording or a mapping subject -> recording of dims (presentation,
        neuroid[, time]).
    methods : sequence of {"encoding", "rsa", "similarity"}, default=("encoding", "rsa")
    cv : int, default=5
        Outer folds of the encoding models.
    n_bootstrap : int, default=0
        Stimulus bootstrap samples for the CIs (0: none).
    seed : int, default=0
        Seed of every resampling.
    by : str or None, default="region"
        Neuroid coordinate that splits a recording into regions; recordings without
        it are one region named ``"all"``.
    options : dict of str to dict, optional
        Options per method: keyword arguments of ``encoding_scores`` (e.g.
        ``alphas``) and ``similarity_scores`` (e.g. ``method="cka"``), and
        ``rdm_method`` / ``compare_method`` for RSA (default ``"correlation"`` and
        ``"rho_a"``).
    device, max_memory : optional
        See :func:`neuroalign.config`.

    Returns
    -------
    result : ComparisonResult
        ``table`` with columns :data:`COLUMNS`; ``maps`` with per-neuroid encoding
        scores and per-time RSA curves; the resolved ``config``, ``seeds``,
        ``versions`` and ``input_hashes``.

    Raises
    ------
    ValueError
        If a method or option is unknown, or from the engines (too few stimuli...).
    TypeError
        If ``features`` or ``responses`` is not a DataArray or a mapping of them.

    See Also
    --------
    neuroalign.encoding.encoding_scores, neuroalign.rsa.rsa_scores,
    neuroalign.rsa.time_resolved_rsa, neuroalign.similarity.similarity_scores

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign import compare
    >>> from neuroalign.data import activations, responses
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"s{i}" for i in range(30)]
    >>> layer = activations(rng.standard_normal((30, 6)), ids, model="net", layer="fc")
    >>> brain = responses(layer.values @ rng.standard_normal((6, 4)), ids, modality="fmri",
    ...                   subject="sub-01", regions=["V1", "V1", "IT", "IT"])
    >>> result = compare(layer, brain, methods=("encoding", "rsa"), device="cpu")
    >>> result.table[["method", "metric", "region"]].drop_duplicates().shape
    (6, 3)
    """
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    if not methods:
        raise ValueError("'methods' is empty; choose from " + ", ".join(METHODS) + ".")
    for method in methods:
        check_option("methods", method, tuple(METHODS))
    cv = check_positive_int("cv", cv, minimum=2)
    n_bootstrap = check_positive_int("n_bootstrap", n_bootstrap, minimum=0)
    options = _check_options(methods, options)
    models = as_models(features)
    subjects = as_subjects(responses)
    settings = {
        "cv": cv,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "by": by,
        "device": device,
        "max_memory": max_memory,
    }
    frames, maps = [], {}
    for method in methods:
        for model, layers in models.items():
            for subject, recording in subjects.items():
                frame, found = METHODS[method](
                    layers,
                    recording,
                    model=model,
                    subject=subject,
                    settings=settings,
                    options=options[method],
                )
                frames.append(frame)
                maps.update(found)
    table = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    hashes = {
        f"features/{m}/{layer}": hash_data(da)
        for m, ls in models.items()
        for layer, da in ls.items()
    }
    hashes.update({f"responses/{s}": hash_data(da) for s, da in subjects.items()})
    config = {
        "methods": list(methods),
        "options": options,
        "models": {m: list(ls) for m, ls in models.items()},
        "subjects": list(subjects),
        **{k: v for k, v in settings.items() if k != "device"},
        "device": str(device),
    }
    return ComparisonResult(
        table=normalize_table(table),
        maps=maps,
        config=config,
        seeds={"seed": seed},
        versions=versions(),
        input_hashes=hashes,
    )


def normalize_table(table):
    """Give a results table its column types: text, integer counts, float scores.

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    table : pandas.DataFrame
    """
    text = ("model", "layer", "subject", "region", "method", "metric")
    types = {name: "str" for name in text if name in table}
    types.update({name: "int64" for name in ("n_stimuli", "n_neuroids") if name in table})
    types.update(
        {
            name: "float64"
            for name in ("score", "ci_low", "ci_high", "ceiling", "time")
            if name in table
        }
    )
    return table.astype(types).reset_index(drop=True)
