"""RDM models: fixed and weighted (non-negative mixtures of component RDMs), cross-validated.

``fit_weighted_model`` is rsatoolbox's ``fit_regress_nn``: non-negative least
squares of the pooled data RDM on the component RDMs, after the normalisation of
the comparator (centring for correlations, whitening by the covariance of
distance estimates for ``*_cov``). ``crossval`` splits RDMs and stimuli into
folds exactly as rsatoolbox's ``sets_k_fold`` and scores like ``crossval`` with
the ``cv_noise_ceiling``.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.optimize
import torch

from neuroalign._backend import resolve_device, to_numpy
from neuroalign._validation import check_option, check_positive_int
from neuroalign.rsa._compare import (
    _check_sigma_k,
    _whiten,
    features,
    pool_transform,
    resolve_method,
    similarity,
)
from neuroalign.rsa._inference import random_state
from neuroalign.rsa._labelled import as_vectors, match_stimuli, pair_indices

__all__ = ["CrossvalResult", "FixedModel", "WeightedModel", "crossval", "fit_weighted_model"]

FIT_METHODS = ("cosine", "pearson", "cosine_cov", "corr_cov")


@dataclasses.dataclass(frozen=True, eq=False)
class FixedModel:
    """A model that predicts one RDM.

    Attributes
    ----------
    name : str
    rdm : numpy.ndarray of shape (n_pairs,)
        Condensed RDM (squareform order).
    """

    name: str
    rdm: np.ndarray

    def predict(self, weights=None):
        """The model RDM (``weights`` is ignored). Returns an array of shape (n_pairs,)."""
        return np.asarray(self.rdm, dtype=float)


@dataclasses.dataclass(frozen=True, eq=False)
class WeightedModel:
    """A non-negative weighted sum of component RDMs (rsatoolbox ``ModelWeighted``).

    Attributes
    ----------
    name : str
    components : numpy.ndarray of shape (n_components, n_pairs)
    """

    name: str
    components: np.ndarray

    def predict(self, weights):
        """Weighted sum of the components.

        Parameters
        ----------
        weights : array of shape (n_components,)

        Returns
        -------
        rdm : numpy.ndarray of shape (n_pairs,)
        """
        return np.asarray(weights, dtype=float) @ np.asarray(self.components, dtype=float)


def _pooled_fit_target(data, method, sigma):
    """The pooled data RDM of rsatoolbox's ``util.pooling.pool_rdm`` (shift dropped)."""
    if method in ("cosine", "pearson"):
        return pool_transform(data, method).mean(0)
    x = data - data.mean(-1, keepdim=True) if method == "corr_cov" else data
    whitened, _ = _whiten(x, None, sigma)
    norms = (whitened * whitened).sum(-1, keepdim=True).sqrt()
    return (x / norms).mean(0)


def _design(components, target, method, sigma):
    """Design matrix and target of the (whitened) least-squares problem."""
    if method in ("pearson", "corr_cov"):
        components = components - components.mean(-1, keepdim=True)
        target = target - target.mean()
    if method in ("cosine_cov", "corr_cov"):
        components, _ = _whiten(components, None, sigma)
        target, _ = _whiten(target[None], None, sigma)
        target = target[0]
    return to_numpy(components).T, to_numpy(target)


def _nnls_weights(components, data, method, ridge, sigma):
    target = _pooled_fit_target(data, method, sigma)
    design, target = _design(components, target, method, sigma)
    if ridge > 0:
        design = np.vstack([design, np.sqrt(ridge) * np.eye(design.shape[1])])
        target = np.concatenate([target, np.zeros(design.shape[1])])
    weights, _ = scipy.optimize.nnls(design, target)
    norm = np.sqrt(np.sum(weights**2))
    return weights / norm if norm > 0 else weights


def fit_weighted_model(
    components, data_rdms, *, method="cosine", ridge=0.0, sigma_k=None, device=None
):
    """Fit non-negative weights of component RDMs to data RDMs.

    The data RDMs are pooled as rsatoolbox does for the comparator, then the
    weights minimise the (whitened) squared error under ``weights >= 0``; they are
    returned with unit norm, since no comparator depends on the scale.

    Parameters
    ----------
    components : array-like or labelled RDMs or WeightedModel
        Component RDMs, (n_components, n_pairs) or (n_components, n, n).
    data_rdms : array-like or labelled RDMs
        RDMs over the same stimuli.
    method : {"cosine", "pearson", "cosine_cov", "corr_cov"}, default="cosine"
        Comparator the fit optimises.
    ridge : float, default=0.0
        Ridge penalty on the weights.
    sigma_k : array of shape (n_stimuli,) or (n_stimuli, n_stimuli), optional
        Pattern covariance for the whitened comparators.
    device : see :func:`neuroalign._backend.resolve_device`, default=None

    Returns
    -------
    weights : numpy.ndarray of shape (n_components,)
        Non-negative, unit norm (all zero if nothing fits).

    Raises
    ------
    ValueError
        Unsupported method (rank comparators have no least-squares fit), different
        stimulus sets, negative ridge.

    See Also
    --------
    WeightedModel, crossval

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import fit_weighted_model
    >>> rng = np.random.default_rng(0)
    >>> parts = rng.random((2, 45))
    >>> data = 3 * parts[0] + parts[1] + 0.01 * rng.random((3, 45))
    >>> fit_weighted_model(parts, data, method="pearson").round(2)
    array([0.95, 0.32])
    """
    method = resolve_method(method)
    check_option("method", method, FIT_METHODS)
    if ridge < 0:
        raise ValueError(f"'ridge' must be >= 0; got {ridge!r}.")
    if isinstance(components, WeightedModel):
        components = components.components
    data = as_vectors(data_rdms, "data_rdms")
    parts = match_stimuli(data, as_vectors(components, "components"), ("data_rdms", "components"))
    device = resolve_device(device)
    sigma = _check_sigma_k(sigma_k, len(data.stimuli), device)
    return _nnls_weights(
        torch.as_tensor(parts.values, device=device),
        torch.as_tensor(data.values, device=device),
        method,
        ridge,
        sigma,
    )


@dataclasses.dataclass(frozen=True)
class Fold:
    """One cross-validation fold: indices of data RDMs and stimuli."""

    train_rdms: np.ndarray
    test_rdms: np.ndarray
    train_stimuli: np.ndarray
    test_stimuli: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class CrossvalResult:
    """Cross-validated evaluation of RDM models.

    Attributes
    ----------
    models : tuple of str
    method : str
    evaluations : numpy.ndarray of shape (n_folds, n_models)
        Mean comparator value over the test RDMs of each fold, on test stimuli
        (NaN for folds with fewer than 3 stimuli).
    scores : numpy.ndarray of shape (n_models,)
        Mean over folds.
    noise_ceiling : numpy.ndarray of shape (2,)
        Cross-validated lower and upper bound (rsatoolbox ``cv_noise_ceiling``).
    folds : tuple of Fold
    weights : dict of str to numpy.ndarray of shape (n_folds, n_components)
        Fitted weights of the weighted models in each fold.
    """

    models: tuple
    method: str
    evaluations: np.ndarray
    scores: np.ndarray
    noise_ceiling: np.ndarray
    folds: tuple
    weights: dict

    def to_frame(self):
        """One row per model: ``model, method, score, ceiling_low, ceiling_high, n_folds``."""
        return pd.DataFrame(
            {
                "model": list(self.models),
                "method": self.method,
                "score": self.scores,
                "ceiling_low": self.noise_ceiling[0],
                "ceiling_high": self.noise_ceiling[1],
                "n_folds": len(self.folds),
            }
        )


def _groups(items, k):
    """rsatoolbox's split of shuffled items into k groups (extra items taken from the end)."""
    size, extra = len(items) // k, len(items) % k
    groups = []
    for group in range(k):
        test = list(range(group * size, (group + 1) * size))
        if group < extra:
            test.append(len(items) - (group + 1))
        train = test if k <= 1 else sorted(set(range(len(items))) - set(test))
        groups.append((np.sort(items[train]), np.sort(items[test])))
    return groups


def k_fold_splits(n_rdms, n_stimuli, *, n_folds_rdm, n_folds_stimuli, rng):
    """Folds over RDMs and stimuli drawn as rsatoolbox's ``sets_k_fold(random=True)``."""
    rdms = np.arange(n_rdms)
    rng.shuffle(rdms)
    folds = []
    for train_rdms, test_rdms in _groups(rdms, n_folds_rdm):
        stimuli = np.arange(n_stimuli)
        rng.shuffle(stimuli)
        for train_stimuli, test_stimuli in _groups(stimuli, n_folds_stimuli):
            folds.append(Fold(train_rdms, test_rdms, train_stimuli, test_stimuli))
    return tuple(folds)


def _subset_pairs(stimuli, n):
    """Condensed positions of the pairs among ``stimuli`` (sorted), in squareform order."""
    rows, cols = pair_indices(len(stimuli))
    a, b = stimuli[rows], stimuli[cols]
    return a * n - a * (a + 1) // 2 + (b - a - 1)


def _as_models(models):
    if isinstance(models, (FixedModel, WeightedModel)):
        models = [models]
    if isinstance(models, Mapping):
        items = list(models.items())
    else:
        items = [(getattr(m, "name", str(i)), m) for i, m in enumerate(models)]
    converted = []
    for name, model in items:
        if isinstance(model, (FixedModel, WeightedModel)):
            converted.append(dataclasses.replace(model, name=str(name)))
        else:
            rdm = as_vectors(model, f"models[{name!r}]").values
            if rdm.shape[0] != 1:
                raise ValueError(
                    f"Model {name!r} must be one RDM or a WeightedModel; got {rdm.shape[0]} RDMs."
                )
            converted.append(FixedModel(str(name), rdm[0]))
    if not converted:
        raise ValueError("'models' is empty.")
    return converted


def _mean_similarity(prediction, test, method):
    sims = similarity(features(prediction, method), features(test, method), method)
    return sims.mean(-1)


def _cv_ceiling(data, fold, method, positions):
    """rsatoolbox's ``cv_noise_ceiling``: training RDMs pooled over the test stimuli
    (lower) and all RDMs pooled over all stimuli (upper), scored on the test RDMs."""
    pooled_train = pool_transform(data[fold.train_rdms][:, positions], method).mean(0)
    pooled_all = pool_transform(data, method).mean(0)[positions]
    test = data[fold.test_rdms][:, positions]
    lower = _mean_similarity(pooled_train[None], test, method)[0]
    upper = _mean_similarity(pooled_all[None], test, method)[0]
    return lower, upper


def crossval(
    models,
    data_rdms,
    *,
    method="cosine",
    n_folds=5,
    n_folds_rdm=1,
    ridge=0.0,
    seed=None,
    device=None,
):
    """Cross-validate fixed and weighted RDM models over stimuli (and data RDMs).

    Weighted models are fitted on the training RDMs over training stimuli and
    scored on the test RDMs over test stimuli; fixed models are scored on the same
    folds. Folds are drawn as rsatoolbox's ``sets_k_fold`` draws them, so
    ``seed=s`` equals rsatoolbox after ``np.random.seed(s)``.

    Parameters
    ----------
    models : FixedModel, WeightedModel, or sequence or Mapping of them or of RDMs
        A plain RDM (array or labelled) is a fixed model.
    data_rdms : array-like or labelled RDMs
    method : {"cosine", "pearson", "cosine_cov", "corr_cov", "spearman", "rho_a", \
"kendall_tau_a"}, default="cosine"
        Comparator; weighted models need one of the first four.
    n_folds : int, default=5
        Folds over stimuli (each test fold needs at least 3 stimuli).
    n_folds_rdm : int, default=1
        Folds over data RDMs; 1 uses all RDMs for training and testing.
    ridge : float, default=0.0
        Ridge penalty of the weighted fits.
    seed : int or numpy.random.RandomState or None, default=None
    device : see :func:`neuroalign._backend.resolve_device`, default=None

    Returns
    -------
    result : CrossvalResult

    See Also
    --------
    fit_weighted_model, evaluate

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import WeightedModel, crossval
    >>> rng = np.random.default_rng(0)
    >>> parts = rng.random((2, 190))
    >>> data = parts[0] + 0.5 * parts[1] + 0.2 * rng.random((4, 190))
    >>> models = {"mix": WeightedModel("mix", parts), "first": parts[0]}
    >>> result = crossval(models, data, method="pearson", n_folds=4, seed=0)
    >>> bool(result.scores[0] > result.scores[1])
    True
    """
    method = resolve_method(method)
    model_list = _as_models(models)
    data = as_vectors(data_rdms, "data_rdms")
    n_rdms, n_stimuli = data.values.shape[0], len(data.stimuli)
    n_folds = check_positive_int("n_folds", n_folds)
    n_folds_rdm = check_positive_int("n_folds_rdm", n_folds_rdm)
    if n_folds > n_stimuli or n_folds_rdm > n_rdms:
        raise ValueError(
            f"Cannot make {n_folds} stimulus folds of {n_stimuli} stimuli and {n_folds_rdm} "
            f"RDM folds of {n_rdms} RDMs."
        )
    weighted = [m for m in model_list if isinstance(m, WeightedModel)]
    if weighted:
        check_option("method", method, FIT_METHODS)
    device = resolve_device(device)
    values = {}
    for model in model_list:
        rdm = model.components if isinstance(model, WeightedModel) else model.rdm
        values[model.name] = np.atleast_2d(np.asarray(rdm, dtype=float))
        if values[model.name].shape[1] != data.values.shape[1]:
            raise ValueError(
                f"Model {model.name!r} has {values[model.name].shape[1]} dissimilarities per "
                f"RDM but the data have {data.values.shape[1]}."
            )
    y = torch.as_tensor(data.values, device=device)
    folds = k_fold_splits(
        n_rdms, n_stimuli, n_folds_rdm=n_folds_rdm, n_folds_stimuli=n_folds, rng=random_state(seed)
    )
    evaluations = np.full((len(folds), len(model_list)), np.nan)
    ceilings = np.full((len(folds), 2), np.nan)
    fitted = {m.name: np.full((len(folds), values[m.name].shape[0]), np.nan) for m in weighted}
    for index, fold in enumerate(folds):
        if len(fold.test_stimuli) < 3 or len(fold.train_stimuli) < 3:
            continue
        test_pairs = _subset_pairs(fold.test_stimuli, n_stimuli)
        train_pairs = _subset_pairs(fold.train_stimuli, n_stimuli)
        test = y[fold.test_rdms][:, test_pairs]
        for k, model in enumerate(model_list):
            rdm = torch.as_tensor(values[model.name], device=device)
            if isinstance(model, WeightedModel):
                weights = _nnls_weights(
                    rdm[:, train_pairs], y[fold.train_rdms][:, train_pairs], method, ridge, None
                )
                fitted[model.name][index] = weights
                rdm = torch.as_tensor(weights, device=device) @ rdm
            prediction = rdm.reshape(1, -1)[:, test_pairs]
            evaluations[index, k] = float(_mean_similarity(prediction, test, method)[0])
        ceilings[index] = [float(v) for v in _cv_ceiling(y, fold, method, test_pairs)]
    return CrossvalResult(
        models=tuple(m.name for m in model_list),
        method=method,
        evaluations=evaluations,
        scores=np.nanmean(evaluations, axis=0),
        noise_ceiling=np.nanmean(ceilings, axis=0),
        folds=folds,
        weights=fitted,
    )
