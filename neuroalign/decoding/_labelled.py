"""Labelled front door: decode stimulus labels or features from a neuroalign recording."""

import dataclasses

import numpy as np
import pandas as pd
import scipy.stats
import torch
import xarray as xr

from neuroalign._backend import resolve_device
from neuroalign._validation import check_alphas, check_finite, check_option, close_matches_hint
from neuroalign.data import align, average_repetitions, validate
from neuroalign.decoding._identification import pairwise_identification
from neuroalign.decoding._ridge_over_time import INNER_FOLDS, ridge_predictions_over_time
from neuroalign.decoding._scoring import SCORINGS
from neuroalign.decoding._time import decode_over_time
from neuroalign.encoding import DEFAULT_ALPHAS, make_folds
from neuroalign.stats import pearson_r

__all__ = ["DecodingResult", "REGRESSION_SCORINGS", "decode"]

REGRESSION_SCORINGS = ("pearson", "identification")
_CI_LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class DecodingResult:
    """Cross-validated decoding scores of one recording, with labels.

    Attributes
    ----------
    scores : xarray.DataArray
        Dims ``("fold",)``, ``("fold", "time")`` or ``("fold", "train_time",
        "test_time")``: the score of every test fold.
    metric : str
        ``"roc_auc"``, ``"accuracy"``, ``"balanced_accuracy"`` (classification) or
        ``"pearson"``, ``"identification"`` (feature regression).
    chance : float
        Score expected by chance (NaN for Pearson r, whose chance level is 0).
    n_stimuli : int
        Distinct stimuli decoded.
    attrs : dict
        Provenance: target, task, classifier, subject, modality, classes, n_folds.
    """

    scores: xr.DataArray
    metric: str
    chance: float
    n_stimuli: int
    attrs: dict

    @property
    def mean(self):
        """xarray.DataArray: scores averaged over folds."""
        return self.scores.mean("fold")

    def to_frame(self):
        """One row per time point (or train x test time pair): the mean over folds.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``metric, score, ci_low, ci_high, chance, n_stimuli, n_folds,
            target, classifier, subject, modality`` (+ ``time`` or ``train_time,
            test_time``). The CI is the t interval (95 %) of the mean over folds, which
            treats folds as independent and is therefore optimistic; use the
            permutation tests of :mod:`neuroalign.decoding` for inference.
        """
        n_folds = self.scores.sizes["fold"]
        mean = self.scores.mean("fold")
        sem = self.scores.std("fold", ddof=1) / np.sqrt(n_folds)
        half = scipy.stats.t.ppf(0.5 + _CI_LEVEL / 2, n_folds - 1) * sem
        summary = xr.Dataset({"score": mean, "ci_low": mean - half, "ci_high": mean + half})
        if summary["score"].ndim == 0:
            table = pd.DataFrame([{name: float(summary[name]) for name in summary}])
        else:
            table = summary.to_dataframe().reset_index()
        extra = {
            "metric": self.metric,
            "chance": self.chance,
            "n_stimuli": self.n_stimuli,
            "n_folds": n_folds,
            "target": self.attrs.get("target"),
            "classifier": self.attrs.get("classifier"),
            "subject": self.attrs.get("subject"),
            "modality": self.attrs.get("modality"),
        }
        for name, value in extra.items():
            table[name] = value
        leading = ["metric", "score", "ci_low", "ci_high", "chance", "n_stimuli", "n_folds"]
        return table[leading + [c for c in table.columns if c not in leading]]


def _labels_from(responses, target):
    if target not in responses.coords:
        names = [
            name for name, coord in responses.coords.items() if coord.dims == ("presentation",)
        ]
        raise ValueError(
            f"'target' {target!r} is not a coordinate of the responses; presentation "
            f"coordinates are {names}." + close_matches_hint(target, names)
        )
    coord = responses.coords[target]
    if coord.dims != ("presentation",):
        raise ValueError(
            f"'target' coordinate {target!r} must lie along 'presentation' (one label per "
            f"presentation); it lies along {coord.dims}."
        )
    return coord.values


def _is_regression(target):
    if isinstance(target, xr.DataArray):
        return True
    values = np.asarray(target)
    return values.ndim == 2 or values.dtype.kind == "f"


def _time_axis(responses, window, n_out):
    """Time coordinate of the decoded points (window centres with a sliding window)."""
    times = responses["time"].values
    if window is None or window == 1:
        return times
    return np.array([times[t : t + window].mean() for t in range(n_out)])


def _classification(
    responses, labels, *, cv, classifier, scoring, generalize, window, seed, options
):
    data = responses.values
    if "time" not in responses.dims:
        data = data[..., None]
    result = decode_over_time(
        data,
        labels,
        classifier=classifier,
        cv=cv,
        scoring=scoring,
        generalize=generalize,
        window=window if "time" in responses.dims else None,
        groups=responses.stimulus_id.values,
        seed=seed,
        **options,
    )
    scores = result.scores
    if "time" not in responses.dims:
        da = xr.DataArray(scores[:, 0], dims=("fold",))
    else:
        times = _time_axis(responses, window, scores.shape[-1])
        if generalize:
            da = xr.DataArray(
                scores,
                dims=("fold", "train_time", "test_time"),
                coords={"train_time": times, "test_time": times},
            )
        else:
            da = xr.DataArray(scores, dims=("fold", "time"), coords={"time": times})
    info = {
        "classifier": result.classifier,
        "classes": result.classes.tolist(),
        "task": "classification",
    }
    return da, result.chance, info


def _check_regression_inputs(features, folds):
    """Finite features, and enough training stimuli in every fold for the inner folds."""
    check_finite("target", features)
    smallest = min(len(train) for train, _ in folds)
    if smallest < INNER_FOLDS:
        raise ValueError(
            f"Feature regression picks each feature's alpha by {INNER_FOLDS}-fold "
            f"cross-validation within every training set, which needs at least {INNER_FOLDS} "
            f"training stimuli; one fold has {smallest}. Use fewer folds or more stimuli."
        )


def _regression(responses, target, *, cv, scoring, seed, alphas, options):
    responses = average_repetitions(responses)
    if isinstance(target, xr.DataArray):
        responses, target = align(responses, target)
        features = np.asarray(target.values, dtype=np.float64)
    else:
        features = np.asarray(target, dtype=np.float64)
        if features.shape[0] != responses.sizes["presentation"]:
            raise ValueError(
                f"'target' has {features.shape[0]} rows but the responses have "
                f"{responses.sizes['presentation']} stimuli after averaging repetitions; pass "
                "one row per stimulus in the order of average_repetitions(responses)."
            )
    features = features.reshape(features.shape[0], -1)
    data = responses.values
    timed = "time" in responses.dims
    if not timed:
        data = data[..., None]
    if cv is not None and not isinstance(cv, (int, np.integer)) and not hasattr(cv, "split"):
        raise TypeError("'cv' must be an int or a scikit-learn splitter for feature regression.")
    splitter = cv
    if seed is not None and isinstance(cv, (int, np.integer)):
        from sklearn.model_selection import KFold

        splitter = KFold(int(cv), shuffle=True, random_state=seed)
    folds = make_folds(data.shape[0], cv=splitter)
    _check_regression_inputs(features, folds)
    device = resolve_device(options["device"])
    Y = torch.as_tensor(features, dtype=torch.float64, device=device)
    alphas = torch.as_tensor(check_alphas(alphas), device=device)
    scores = np.empty((len(folds), data.shape[-1]))
    for f, (train, test) in enumerate(folds):
        predicted, _ = ridge_predictions_over_time(
            data, Y, train, test, alphas, max_memory=options["max_memory"]
        )
        true = Y[torch.as_tensor(test, device=device)]
        if scoring == "pearson":
            scores[f] = np.nanmean(pearson_r(true, predicted).cpu().numpy(), axis=-1)
        else:
            true = true.expand_as(predicted)
            scores[f] = pairwise_identification(predicted, true, device=device).accuracy
    if timed:
        da = xr.DataArray(scores, dims=("fold", "time"), coords={"time": responses.time.values})
    else:
        da = xr.DataArray(scores[:, 0], dims=("fold",))
    chance = 0.5 if scoring == "identification" else float("nan")
    info = {"classifier": "ridge_cv", "task": "regression"}
    return da, chance, info, responses


def decode(
    responses,
    target,
    *,
    cv=5,
    classifier="ridge",
    scoring=None,
    generalize=False,
    window=None,
    seed=None,
    class_weight=None,
    alphas=DEFAULT_ALPHAS,
    device=None,
    dtype=None,
    max_memory=None,
):
    """Decode stimulus labels or features from a recording, with labelled scores.

    Parameters
    ----------
    responses : xarray.DataArray
        Recording in the schema, dims ``("presentation", "neuroid"[, "time"])``.
    target : str or xarray.DataArray or array-like
        What to decode:

        - a presentation coordinate name (e.g. ``"category"``): classification;
        - a model layer (``activations`` DataArray) or a float array of shape
          ``(n_stimuli, n_features)``: feature regression with per-feature ridge
          (:func:`~neuroalign.encoding.solve_ridge_cv`), scored by Pearson r or
          pairwise identification. Repetitions are averaged first and the layer is
          aligned on ``stimulus_id``;
        - a 1-D array of labels, one per presentation (non-float): classification.
    cv : int or scikit-learn splitter, default=5
        Classification folds are stratified by class and grouped by ``stimulus_id``,
        so repetitions of one stimulus never fall on both sides of a fold.
    classifier : {"ridge", "lda", "logistic"} or decoder, default="ridge"
    scoring : str, optional
        Classification: ``"roc_auc"`` (default), ``"accuracy"``,
        ``"balanced_accuracy"``. Regression: ``"pearson"`` (default, mean over
        features of the per-fold correlation) or ``"identification"`` (pairwise
        2-way identification among the test stimuli of a fold).
    generalize : bool, default=False
        Temporal generalisation (classification of time-resolved responses).
    window : int, optional
        Sliding window in samples (classification).
    seed : int, optional
        Shuffle before splitting.
    class_weight : None or "balanced", default=None
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Ridge penalties searched by inner CV (regression).
    device, dtype, max_memory : optional
        See :func:`neuroalign.config`. Feature regression always computes in float64
        (``dtype`` applies to classification).

    Returns
    -------
    result : DecodingResult

    Raises
    ------
    ValueError
        If ``target`` is not a presentation coordinate, labels do not match the
        presentations, there is a single class, or a class has fewer stimuli than folds;
        for regression, if the features hold NaN or infinite values or a training set
        has fewer than 5 stimuli.

    Notes
    -----
    Feature regression fits, in every outer fold and at every time point, what
    ``solve_ridge_cv(X_train, features_train, alphas)`` fits (an alpha per feature by 5
    contiguous inner folds and Pearson r, then a refit on the training stimuli), with
    time as a batch dimension of every product and eigendecomposition; see
    ``neuroalign/decoding/_ridge_over_time.py``. It agrees with one float64
    ``solve_ridge_cv`` per time point to about 1e-10.

    See Also
    --------
    decode_over_time : the array-level engine.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses
    >>> from neuroalign.decoding import decode
    >>> rng = np.random.default_rng(0)
    >>> category = np.repeat(["face", "house"], 10)
    >>> data = rng.standard_normal((20, 4)) + (category == "face")[:, None]
    >>> rec = responses(data, [f"s{i}" for i in range(20)], modality="fmri",
    ...                 presentation_coords={"category": category})
    >>> result = decode(rec, "category", cv=4, device="cpu")
    >>> result.scores.dims, bool(result.mean > 0.7)
    (('fold',), True)
    """
    validate(responses)
    regression = not isinstance(target, str) and _is_regression(target)
    options = {"device": device, "dtype": dtype, "max_memory": max_memory}
    if regression:
        scoring = check_option("scoring", scoring or "pearson", REGRESSION_SCORINGS)
        scores, chance, info, used = _regression(
            responses, target, cv=cv, scoring=scoring, seed=seed, alphas=alphas, options=options
        )
    else:
        scoring = check_option("scoring", scoring or "roc_auc", SCORINGS)
        labels = _labels_from(responses, target) if isinstance(target, str) else target
        scores, chance, info = _classification(
            responses,
            labels,
            cv=cv,
            classifier=classifier,
            scoring=scoring,
            generalize=generalize,
            window=window,
            seed=seed,
            options={"class_weight": class_weight, **options},
        )
        used = responses
    attrs = {
        "target": target if isinstance(target, str) else getattr(target, "name", None),
        "subject": responses.attrs.get("subject"),
        "modality": responses.attrs.get("modality"),
        "n_folds": scores.sizes["fold"],
        **info,
    }
    return DecodingResult(
        scores=scores.rename(scoring),
        metric=scoring,
        chance=chance,
        n_stimuli=len(pd.unique(used.stimulus_id.values)),
        attrs=attrs,
    )
