"""Labelled front door: cross-validated encoding scores per neuroid."""

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuroalign._validation import check_option
from neuroalign.data import align, average_repetitions, validate
from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._estimators import DEFAULT_ALPHAS
from neuroalign.encoding._ridge import SCORINGS, solve_ridge_cv
from neuroalign.stats import (
    bootstrap_scores,
    noise_ceiling_from_responses,
    pearson_r,
    percentile_ci,
    r2_score,
)

__all__ = ["EncodingResult", "encoding_scores"]

METRICS = ("pearson", "r2")


@dataclasses.dataclass(frozen=True)
class EncodingResult:
    """Cross-validated encoding scores of one recording from one or several layers.

    Attributes
    ----------
    scores : xarray.Dataset
        Variables of dims ``(layer, neuroid[, time])``: ``pearson`` and ``r2`` of the
        out-of-fold predictions, ``best_alpha`` (median over outer folds),
        ``normalized`` (``pearson / ceiling``; NaN where the ceiling is 0, i.e. no
        reliable signal), and with ``n_bootstrap`` the ``ci_low`` / ``ci_high`` of
        ``pearson`` and the resampled scores ``pearson_bootstrap`` / ``r2_bootstrap``
        (dims ``(layer, bootstrap, neuroid[, time])``). Neuroid coordinates
        (``region``...) are kept.
    ceiling : xarray.DataArray or None
        Correlation noise ceiling per neuroid (and time) of the data that were fit,
        from repetitions (:func:`neuroalign.stats.noise_ceiling_from_responses`);
        ``None`` when no stimulus was repeated.
    n_stimuli : int
        Stimuli shared by the recording and the features.
    attrs : dict
        Provenance: model, subject, modality, folds, alphas, scoring, seed.
    """

    scores: xr.Dataset
    ceiling: xr.DataArray | None
    n_stimuli: int
    attrs: dict

    def to_frame(self, *, by="region"):
        """One row per layer (and region): mean scores over neuroids.

        Parameters
        ----------
        by : str or None, default="region"
            Neuroid coordinate to group by; ``None`` or a missing coordinate gives one
            group of all neuroids.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``model, layer, subject, region, method, metric, score, ci_low,
            ci_high, ceiling, n_neuroids, n_stimuli``. The CI (NaN without bootstrap)
            is the percentile interval of the group mean over the stimulus resamples;
            the ceiling is the mean correlation ceiling (squared for R²).
        """
        rows = []
        grouping = self.scores[by].values if by and by in self.scores.coords else None
        groups = pd.unique(grouping) if grouping is not None else [None]
        for layer in self.scores.layer.values:
            for group in groups:
                mask = np.ones(self.scores.sizes["neuroid"], bool)
                if group is not None:
                    mask = grouping == group
                for metric in METRICS:
                    values = self.scores[metric].sel(layer=layer).isel(neuroid=mask)
                    low = high = np.nan
                    if f"{metric}_bootstrap" in self.scores:
                        resampled = self.scores[f"{metric}_bootstrap"].sel(layer=layer)
                        means = resampled.isel(neuroid=mask).mean(
                            [d for d in resampled.dims if d != "bootstrap"]
                        )
                        low, high = (float(v) for v in percentile_ci(means.values))
                    ceiling = np.nan
                    if self.ceiling is not None:
                        ceiling = float(self.ceiling.isel(neuroid=mask).mean())
                        ceiling = ceiling**2 if metric == "r2" else ceiling
                    rows.append(
                        {
                            "model": self.attrs.get("model"),
                            "layer": str(layer),
                            "subject": self.attrs.get("subject"),
                            "region": group,
                            "method": "encoding",
                            "metric": metric,
                            "score": float(values.mean()),
                            "ci_low": low,
                            "ci_high": high,
                            "ceiling": ceiling,
                            "n_neuroids": int(mask.sum()),
                            "n_stimuli": self.n_stimuli,
                        }
                    )
        return pd.DataFrame(rows)


def _layers(features):
    if isinstance(features, xr.DataArray):
        return {features.attrs.get("layer", features.name or "features"): features}
    if isinstance(features, Mapping) and features:
        return dict(features)
    raise TypeError(
        "'features' must be a DataArray (one layer) or a non-empty mapping of layer name to "
        f"DataArray; got {type(features).__name__}."
    )


def _out_of_fold(X, Y, groups, *, alphas, cv, inner_cv, scoring, solver_options):
    """Predictions of every sample from a model fit without its stimulus."""
    predictions = np.empty(Y.shape, dtype=np.float32)
    best_alphas = []
    for train, test in make_folds(len(X), cv, groups):
        result = solve_ridge_cv(
            X[train],
            Y[train],
            alphas,
            cv=inner_cv,
            groups=groups[train],
            scoring=scoring,
            **solver_options,
        )
        predictions[test] = result.predict(X[test]).numpy()
        best_alphas.append(result.best_alphas.numpy())
    return predictions, np.median(best_alphas, axis=0)


def encoding_scores(
    features,
    responses,
    *,
    alphas=DEFAULT_ALPHAS,
    cv=5,
    inner_cv=5,
    scoring="pearson",
    average_repetitions_first=True,
    n_bootstrap=0,
    seed=0,
    device=None,
    dtype=None,
    max_memory=None,
):
    """How well each layer's features predict each neuroid, cross-validated.

    For every layer: align the recording and the features on ``stimulus_id``, split
    the stimuli into ``cv`` outer folds (repetitions of a stimulus always stay in one
    fold), fit :func:`solve_ridge_cv` on the training stimuli (alphas chosen per
    neuroid by an inner ``inner_cv``-fold search), predict the held-out stimuli, and
    score the out-of-fold predictions of all stimuli with Pearson r and R².

    Parameters
    ----------
    features : xarray.DataArray or Mapping of str to xarray.DataArray
        One layer or an ordered mapping of layers (``modality="model"``), e.g. the
        output of :func:`data_adapters.activations.extract`.
    responses : xarray.DataArray of dims (presentation, neuroid[, time])
        A recording; with a time dimension every time point is a separate target.
    alphas : sequence of float, default=DEFAULT_ALPHAS
    cv : int or splitter, default=5
        Outer folds, over stimuli.
    inner_cv : int or splitter, default=5
        Folds of the alpha search inside each outer training set.
    scoring : {"pearson", "r2", "neg_mse"}, default="pearson"
        Score that chooses alphas.
    average_repetitions_first : bool, default=True
        Fit trial-averaged responses (one row per stimulus); otherwise fit single
        trials, grouped by stimulus.
    n_bootstrap : int, default=0
        With ``n_bootstrap >= 2``, bootstrap the stimuli to give 95% CIs of Pearson r.
    seed : int, default=0
        Seed of the bootstrap.
    device, dtype, max_memory : optional
        See :func:`neuroalign.config`.

    Returns
    -------
    result : EncodingResult

    Raises
    ------
    EmptyOverlapError
        If the recording and a layer share no stimulus.
    ValueError
        If there are fewer stimuli than folds.

    See Also
    --------
    solve_ridge_cv : the solver.
    neuroalign.stats.noise_ceiling_from_responses : the ceilings used.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import activations, responses
    >>> from neuroalign.encoding import encoding_scores
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"s{i}" for i in range(60)]
    >>> layer = activations(rng.standard_normal((60, 8)), ids, model="net", layer="fc")
    >>> signal = layer.values @ rng.standard_normal((8, 3))
    >>> data = np.concatenate([signal, signal]) + rng.standard_normal((120, 3))
    >>> brain = responses(data, ids * 2, modality="fmri", regions=["V1", "V1", "IT"])
    >>> result = encoding_scores(layer, brain, device="cpu")
    >>> bool((result.scores.pearson > 0.8).all())
    True
    """
    check_option("scoring", scoring, SCORINGS)
    validate(responses, allow_nan=False)
    layers = _layers(features)
    repeated = pd.Index(responses.stimulus_id.values).has_duplicates
    ceiling = None
    if repeated:
        n_averaged = None if average_repetitions_first else 1.0
        ceiling = noise_ceiling_from_responses(responses, n_averaged=n_averaged)[
            "correlation_ceiling"
        ]
    data = average_repetitions(responses) if average_repetitions_first else responses
    solver_options = {"device": device, "dtype": dtype, "max_memory": max_memory}
    names = ("pearson", "r2", "best_alpha", "ci_low", "ci_high")
    variables = {name: [] for name in names + ("pearson_bootstrap", "r2_bootstrap")}
    n_stimuli = None
    for layer in layers.values():
        recording, design = align(data, layer)
        groups = pd.factorize(recording.stimulus_id.values)[0]
        n_stimuli = int(groups.max()) + 1
        Y = recording.values.reshape(recording.sizes["presentation"], -1)
        predictions, best = _out_of_fold(
            np.asarray(design.values),
            Y,
            groups,
            alphas=alphas,
            cv=cv,
            inner_cv=inner_cv,
            scoring=scoring,
            solver_options=solver_options,
        )
        target = torch.as_tensor(Y, dtype=torch.float64)
        predicted = torch.as_tensor(predictions, dtype=torch.float64)
        variables["pearson"].append(pearson_r(target, predicted).numpy())
        variables["r2"].append(r2_score(target, predicted).numpy())
        variables["best_alpha"].append(best)
        if n_bootstrap:
            for metric in METRICS:
                interval = bootstrap_scores(
                    Y,
                    predictions,
                    metric=metric,
                    n_bootstrap=n_bootstrap,
                    groups=groups,
                    seed=seed,
                )
                variables[f"{metric}_bootstrap"].append(interval.samples)
                if metric == "pearson":
                    variables["ci_low"].append(interval.ci_low)
                    variables["ci_high"].append(interval.ci_high)
    template = data.isel(presentation=0, drop=True)
    per_layer = (len(layers),) + template.shape
    dims = ("layer",) + template.dims
    dataset = xr.Dataset(
        {
            name: (dims, np.stack(variables[name]).reshape(per_layer))
            for name in names
            if variables[name]
        },
        coords={"layer": list(layers), **template.coords},
    )
    for name in ("pearson_bootstrap", "r2_bootstrap"):
        if variables[name]:
            shape = (len(layers), n_bootstrap) + template.shape
            values = np.stack(variables[name]).reshape(shape)
            dataset[name] = (("layer", "bootstrap") + template.dims, values)
    if ceiling is not None:
        ratio = dataset["pearson"] / ceiling
        dataset["normalized"] = ratio.where(ceiling > 0)
    first = next(iter(layers.values()))
    attrs = {
        "model": first.attrs.get("model"),
        "subject": responses.attrs.get("subject"),
        "modality": responses.attrs.get("modality"),
        "scoring": scoring,
        "cv": str(cv),
        "inner_cv": str(inner_cv),
        "alphas": [float(a) for a in alphas],
        "seed": seed,
        "average_repetitions_first": average_repetitions_first,
    }
    return EncodingResult(scores=dataset, ceiling=ceiling, n_stimuli=n_stimuli, attrs=attrs)
