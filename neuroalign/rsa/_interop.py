"""Conversion between labelled RDMs and rsatoolbox's ``RDMs`` (imported lazily)."""

import numpy as np

from neuroalign._optional import import_optional
from neuroalign.rsa._labelled import as_rdms, build_rdms, rdm_stimuli

__all__ = ["from_rsatoolbox", "to_rsatoolbox"]

_FEATURE = "Converting RDMs to or from rsatoolbox"


def to_rsatoolbox(rdms):
    """Labelled RDMs as an ``rsatoolbox.rdm.RDMs`` object.

    Parameters
    ----------
    rdms : labelled RDMs or array-like
        Anything :func:`as_rdms` accepts.

    Returns
    -------
    rsatoolbox.rdm.RDMs
        ``dissimilarities`` in condensed form, ``dissimilarity_measure`` from
        ``attrs["dissimilarity"]``, rdm descriptors ``source``, ``source_name`` and
        ``time``, pattern descriptor ``stimulus_id``, and the other attrs as
        descriptors.

    Raises
    ------
    MissingDependencyError
        If rsatoolbox is not installed (``pip install 'neuroalign[rsa]'``).

    See Also
    --------
    from_rsatoolbox

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compute_rdms, to_rsatoolbox
    >>> rdms = compute_rdms(np.random.default_rng(0).normal(size=(2, 5, 8)))
    >>> to_rsatoolbox(rdms).n_rdm
    2
    """
    rsatoolbox = import_optional("rsatoolbox", extra="rsa", feature=_FEATURE)
    rdms = as_rdms(rdms)
    descriptors = {
        k: v for k, v in rdms.attrs.items() if k not in ("dissimilarity", "kind", "n_stimuli")
    }
    return rsatoolbox.rdm.RDMs(
        dissimilarities=np.asarray(rdms.values, dtype=float),
        dissimilarity_measure=rdms.attrs.get("dissimilarity"),
        descriptors=descriptors,
        rdm_descriptors={
            "source": rdms["source"].values.tolist(),
            "source_name": rdms["source_name"].values.tolist(),
            "time": rdms["time"].values.tolist(),
        },
        pattern_descriptors={"stimulus_id": rdm_stimuli(rdms).tolist()},
    )


def from_rsatoolbox(rdms, *, source_descriptor=None, stimulus_descriptor=None):
    """Labelled RDMs from an ``rsatoolbox.rdm.RDMs`` object.

    Parameters
    ----------
    rdms : rsatoolbox.rdm.RDMs
    source_descriptor : str, optional
        RDM descriptor that names the RDMs; default ``"source"`` if present, else
        ``"name"``, else the RDM index.
    stimulus_descriptor : str, optional
        Pattern descriptor with the stimulus ids; default ``"stimulus_id"`` if
        present, else ``"conds"``, else ``"index"``.

    Returns
    -------
    rdms : xarray.DataArray of dims (source, pair)

    See Also
    --------
    to_rsatoolbox

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compute_rdms, from_rsatoolbox, to_rsatoolbox
    >>> rdms = compute_rdms(np.random.default_rng(0).normal(size=(2, 5, 8)))
    >>> bool(np.allclose(from_rsatoolbox(to_rsatoolbox(rdms)), rdms))
    True
    """
    import_optional("rsatoolbox", extra="rsa", feature=_FEATURE)
    rdm_descriptors = dict(rdms.rdm_descriptors)
    pattern_descriptors = dict(rdms.pattern_descriptors)
    source_key = source_descriptor or next(
        (k for k in ("source", "name") if k in rdm_descriptors), "index"
    )
    stimulus_key = stimulus_descriptor or next(
        (k for k in ("stimulus_id", "conds") if k in pattern_descriptors), "index"
    )
    for key, available, kind in (
        (source_key, rdm_descriptors, "rdm"),
        (stimulus_key, pattern_descriptors, "pattern"),
    ):
        if key not in available:
            raise ValueError(
                f"The rsatoolbox RDMs have no {kind} descriptor {key!r}; available: "
                f"{sorted(available)}."
            )
    sources = [str(s) for s in rdm_descriptors[source_key]]
    stimuli = np.asarray(pattern_descriptors[stimulus_key])
    if stimuli.dtype.kind in "OUS":
        stimuli = stimuli.astype(str)
    descriptors = {
        k: v
        for k, v in dict(rdms.descriptors).items()
        if isinstance(v, (str, int, float, bool)) and k not in ("method", "kind")
    }
    method = rdms.descriptors.get("method") if hasattr(rdms, "descriptors") else None
    return build_rdms(
        np.asarray(rdms.get_vectors(), dtype=float),
        stimuli,
        sources=sources,
        method=method or rdms.dissimilarity_measure,
        dissimilarity=rdms.dissimilarity_measure,
        source_names=rdm_descriptors.get("source_name"),
        times=rdm_descriptors.get("time"),
        extra_attrs=descriptors,
    )
