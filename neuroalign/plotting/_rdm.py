"""RDMs as matrices and as 2-D MDS embeddings."""

import numpy as np

from neuroalign.plotting._common import colours, new_axes

__all__ = ["plot_mds", "plot_rdm"]

# Colour-bar labels by the RDMs' ``dissimilarity`` attribute (rsatoolbox's names).
_MEASURES = {
    "correlation": "correlation distance (1 − Pearson r)",
    "squared euclidean": "squared Euclidean distance per feature",
    "cosine": "cosine distance (1 − cosine similarity)",
    "squared mahalanobis": "squared Mahalanobis distance per feature",
    "crossnobis": "crossnobis distance per feature",
    "poisson": "symmetric Poisson KL divergence per feature",
}


def _square(rdm, source):
    """``(matrix, stimuli, title, measure)`` of one RDM given in any accepted form."""
    import xarray as xr

    if isinstance(rdm, xr.DataArray) and rdm.dims[-1] == "pair":
        from neuroalign.rsa import rdm_matrices

        matrices = rdm_matrices(rdm if rdm.ndim == 2 else rdm.expand_dims("source"))
        sources = [str(s) for s in matrices["source"].values]
        if source is None:
            if len(sources) > 1:
                raise ValueError(
                    f"'rdm' holds {len(sources)} RDMs {sources[:5]}; pick one with "
                    f"source=... (e.g. source={sources[0]!r})."
                )
            source = sources[0]
        elif source not in sources:
            raise ValueError(f"source={source!r} is not among the RDMs' sources {sources}.")
        one = matrices.sel(source=source)
        measure = rdm.attrs.get("dissimilarity", rdm.attrs.get("method", "unknown"))
        return one.values, [str(s) for s in one["stimulus"].values], source, measure
    values = np.asarray(getattr(rdm, "values", rdm), dtype=float)
    if values.ndim == 1:
        import scipy.spatial.distance

        values = scipy.spatial.distance.squareform(values, checks=False)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(
            "'rdm' must be labelled RDMs (from neuroalign.rsa.compute_rdms), a square "
            f"matrix or a condensed vector; got an array of shape {values.shape}."
        )
    return values, [str(i) for i in range(len(values))], source, "dissimilarity"


def plot_rdm(rdm, *, source=None, labels=None, cmap="viridis", ax=None):
    """Show one representational dissimilarity matrix.

    Parameters
    ----------
    rdm : xarray.DataArray of dims (source, pair), array of shape (n, n) or (n*(n-1)/2,)
        Labelled RDMs (from :func:`neuroalign.rsa.compute_rdms`), a square matrix or a
        condensed vector.
    source : str, optional
        Which RDM of labelled RDMs to show; required when there are several.
    labels : sequence of str of length n, optional
        Stimulus (or category) label per row; default the stimulus ids. Repeated
        consecutive labels are shown once at the middle of their block.
    cmap : str, default="viridis"
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_mds, neuroalign.rsa.compute_rdms

    Examples
    --------
    >>> import numpy as np
    >>> figure = plot_rdm(np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> figure.axes[1].get_ylabel()
    'dissimilarity'
    """
    matrix, stimuli, title, measure = _square(rdm, source)
    labels = stimuli if labels is None else [str(label) for label in labels]
    if len(labels) != len(matrix):
        raise ValueError(f"'labels' must have {len(matrix)} entries; got {len(labels)}.")
    figure, ax = new_axes(ax, figsize=(5.0, 4.2))
    image = ax.imshow(matrix, cmap=cmap, interpolation="nearest")
    colorbar = figure.colorbar(image, ax=ax, shrink=0.85)
    colorbar.set_label(_MEASURES.get(measure, "dissimilarity" if measure == "unknown" else measure))
    starts = [0] + [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
    ends = starts[1:] + [len(labels)]
    if len(starts) <= 30:
        centres = [(a + b - 1) / 2 for a, b in zip(starts, ends)]
        names = [labels[a] for a in starts]
        ax.set_xticks(centres, names, rotation=90, fontsize="small")
        ax.set_yticks(centres, names, fontsize="small")
        for boundary in starts[1:]:
            ax.axhline(boundary - 0.5, color="white", linewidth=0.5)
            ax.axvline(boundary - 0.5, color="white", linewidth=0.5)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("stimulus")
    ax.set_ylabel("stimulus")
    if title:
        ax.set_title(str(title))
    return figure


def _precomputed_options(mds_class):
    """MDS keywords for precomputed dissimilarities, across scikit-learn's renames (1.8)."""
    import inspect

    if "metric_mds" in inspect.signature(mds_class).parameters:
        return {"metric": "precomputed", "init": "random"}
    return {"dissimilarity": "precomputed"}


def plot_mds(rdm, *, source=None, labels=None, seed=0, ax=None):
    """Metric MDS embedding of one RDM in two dimensions, coloured by label.

    Parameters
    ----------
    rdm : xarray.DataArray of dims (source, pair), array of shape (n, n) or (n*(n-1)/2,)
        As in :func:`plot_rdm`.
    source : str, optional
        Which RDM of labelled RDMs to embed; required when there are several.
    labels : sequence of str of length n, optional
        A group per stimulus (e.g. its category): one colour and legend entry each.
    seed : int, default=0
        Seed of :class:`sklearn.manifold.MDS`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_rdm

    Examples
    --------
    >>> import numpy as np
    >>> rdm = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    >>> plot_mds(rdm, labels=["a", "a", "b"]).axes[0].get_legend() is not None
    True
    """
    from sklearn.manifold import MDS

    matrix, stimuli, title, _ = _square(rdm, source)
    labels = ["stimulus"] * len(matrix) if labels is None else [str(v) for v in labels]
    if len(labels) != len(matrix):
        raise ValueError(f"'labels' must have {len(matrix)} entries; got {len(labels)}.")
    mds = MDS(n_components=2, random_state=seed, n_init=4, **_precomputed_options(MDS))
    embedding = mds.fit_transform(np.nan_to_num((matrix + matrix.T) / 2))
    figure, ax = new_axes(ax, figsize=(4.8, 4.2))
    groups = list(dict.fromkeys(labels))
    for group, colour in zip(groups, colours(len(groups))):
        mask = np.array([label == group for label in labels])
        ax.scatter(*embedding[mask].T, color=colour, label=group, s=25, edgecolor="white")
    ax.set_xlabel("MDS dimension 1 (dissimilarity units)")
    ax.set_ylabel("MDS dimension 2 (dissimilarity units)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    if title:
        ax.set_title(str(title))
    return figure
