"""The labelled front door: RSA scores between any two sets of sources as a tidy table."""

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.data import validate
from neuroalign.exceptions import EmptyOverlapError
from neuroalign.rsa._evaluate import evaluate
from neuroalign.rsa._inference import random_state
from neuroalign.rsa._rdm import compute_rdms

__all__ = ["rsa_scores"]

COLUMNS = (
    "source_a",
    "source_b",
    "method",
    "rdm_method",
    "score",
    "se",
    "ci_low",
    "ci_high",
    "ceiling_low",
    "ceiling_high",
    "p_zero",
    "n_stimuli",
    "n_bootstrap",
)


def _as_mapping(sources, name):
    if isinstance(sources, xr.DataArray):
        label = sources.attrs.get("layer") or sources.attrs.get("subject") or sources.name
        return {str(label if label is not None else name): sources}
    if isinstance(sources, Mapping):
        if not sources:
            raise ValueError(f"{name!r} is empty.")
        return {str(k): v for k, v in sources.items()}
    raise TypeError(
        f"{name!r} must be a schema DataArray or a mapping of name to DataArray (layers, "
        f"subjects, regions); got {type(sources).__name__}."
    )


def _shared_stimuli(sources):
    """Stimulus ids present in every source, in order of the first source."""
    names = list(sources)
    first = pd.unique(np.asarray(sources[names[0]].stimulus_id.values))
    shared = set(first.tolist())
    for name in names[1:]:
        ids = set(np.asarray(sources[name].stimulus_id.values).tolist())
        if not shared & ids:
            preview_a = ", ".join(repr(i) for i in list(shared)[:3])
            preview_b = ", ".join(repr(i) for i in list(ids)[:3])
            raise EmptyOverlapError(
                f"Sources {names[0]!r} and {name!r} share no stimulus_id ({names[0]!r}: "
                f"{preview_a}…; {name!r}: {preview_b}…). Did you pass integer ids on one side?"
            )
        shared &= ids
    return [s for s in first.tolist() if s in shared]


def _restrict(da, stimuli):
    keep = np.isin(np.asarray(da.stimulus_id.values), np.asarray(stimuli))
    return da.isel(presentation=np.flatnonzero(keep))


def rsa_scores(
    features,
    responses,
    *,
    rdm_method="correlation",
    compare_method="rho_a",
    pool_subjects=False,
    bootstrap="pattern",
    n_bootstrap=1000,
    seed=None,
    ci_level=0.95,
    noise=None,
    cv_groups=None,
    device=None,
    dtype=None,
    max_memory=None,
):
    """RSA between every source of ``features`` and the sources of ``responses``.

    Works alike for brain↔model (layers vs subjects or regions), brain↔brain and
    model↔model: both sides are schema DataArrays. All sources are restricted to
    the stimuli they share; repetitions are averaged (cross-validated for
    ``rdm_method="crossnobis"``) by :func:`compute_rdms`.

    Parameters
    ----------
    features : xarray.DataArray or Mapping of str to xarray.DataArray
        The "A" sources (e.g. the layers of a network, shallow to deep).
    responses : xarray.DataArray or Mapping of str to xarray.DataArray
        The "B" sources (e.g. subjects, regions, another network).
    rdm_method : str, default="correlation"
        See :func:`compute_rdms`.
    compare_method : str, default="rho_a"
        See :func:`compare`.
    pool_subjects : bool, default=False
        False: one row per (A, B) pair with a stimulus-bootstrap CI. True: the B
        sources are subjects; one row per A source scored on their mean, with the
        noise ceiling and, with ``bootstrap="rdm"`` or ``"both"``, subject
        resampling.
    bootstrap : {"pattern", "rdm", "both"} or None, default="pattern"
    n_bootstrap : int, default=1000
    seed : int or numpy.random.RandomState or None, default=None
    ci_level : float, default=0.95
    noise, cv_groups : optional
        Passed to :func:`compute_rdms`.
    device, dtype, max_memory : optional
        Passed to :func:`compute_rdms` and :func:`evaluate`.

    Returns
    -------
    scores : pandas.DataFrame
        Columns ``source_a, source_b, method, rdm_method, score, se, ci_low,
        ci_high, ceiling_low, ceiling_high, p_zero, n_stimuli, n_bootstrap``.
        Ceilings are NaN for unpooled rows (one data RDM has no ceiling).

    Raises
    ------
    EmptyOverlapError
        If two sources share no stimulus.
    ValueError
        Subject resampling without ``pool_subjects``, or the errors of
        :func:`compute_rdms` and :func:`evaluate`.

    See Also
    --------
    compute_rdms, evaluate

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import activations, responses
    >>> from neuroalign.rsa import rsa_scores
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"img{i}" for i in range(12)]
    >>> layer = activations(rng.normal(size=(12, 20)), ids, model="net", layer="conv1")
    >>> brain = responses(layer.values @ rng.normal(size=(20, 6)), ids, modality="fmri")
    >>> table = rsa_scores({"conv1": layer}, {"V1": brain}, n_bootstrap=50, seed=0)
    >>> table[["source_a", "source_b", "n_stimuli"]].values.tolist()
    [['conv1', 'V1', 12]]
    """
    sources_a = _as_mapping(features, "features")
    sources_b = _as_mapping(responses, "responses")
    for name, da in {**sources_a, **sources_b}.items():
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"Source {name!r} must be a schema DataArray; got {type(da).__name__}.")
        validate(da)
    if bootstrap in ("rdm", "both") and not pool_subjects:
        raise ValueError(
            f"bootstrap={bootstrap!r} resamples subjects, which needs pool_subjects=True."
        )
    stimuli = _shared_stimuli({**sources_a, **sources_b})
    options = {
        "method": rdm_method,
        "noise": noise,
        "cv_groups": cv_groups,
        "device": device,
        "dtype": dtype,
        "max_memory": max_memory,
    }
    rdms_a = compute_rdms({k: _restrict(v, stimuli) for k, v in sources_a.items()}, **options)
    rdms_b = compute_rdms({k: _restrict(v, stimuli) for k, v in sources_b.items()}, **options)
    rng = random_state(seed)
    settings = {
        "method": compare_method,
        "bootstrap": bootstrap,
        "n_bootstrap": n_bootstrap,
        "seed": rng,
        "ci_level": ci_level,
        "device": device,
        "dtype": dtype,
        "max_memory": max_memory,
    }
    if pool_subjects:
        targets = [(",".join(rdms_b["source"].values.tolist()), rdms_b)]
    else:
        targets = [(str(s), rdms_b.sel(source=[s])) for s in rdms_b["source"].values]
    frames = []
    for label, target in targets:
        result = evaluate(rdms_a, target, **settings)
        frame = result.to_frame().rename(columns={"model": "source_a"})
        frame["source_b"] = label
        frame["rdm_method"] = rdm_method
        frame["n_bootstrap"] = result.n_bootstrap
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]
