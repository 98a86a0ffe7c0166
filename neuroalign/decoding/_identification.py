"""Identification and retrieval: is the decoded vector closest to its own stimulus?"""

import dataclasses

import numpy as np
import torch

from neuroalign._backend import resolve_device, to_numpy, to_tensor
from neuroalign._validation import check_option, check_positive_int
from neuroalign.exceptions import DimensionError

__all__ = ["IdentificationResult", "pairwise_identification", "similarity_matrix", "top_k_accuracy"]

METRICS = ("correlation", "cosine", "euclidean")


@dataclasses.dataclass(frozen=True)
class IdentificationResult:
    """Identification accuracy of decoded vectors among candidates.

    Attributes
    ----------
    accuracy : float or numpy.ndarray of shape (...)
        Mean over items (one value per leading batch index).
    per_item : numpy.ndarray of shape (..., n_items)
        Score of every item.
    chance : float
        Expected accuracy of random vectors.
    metric : str
    """

    accuracy: object
    per_item: np.ndarray
    chance: float
    metric: str


def similarity_matrix(predicted, true, metric="correlation"):
    """Similarity of every predicted vector to every true vector.

    Parameters
    ----------
    predicted, true : Tensor of shape (..., n_items, n_features)
    metric : {"correlation", "cosine", "euclidean"}
        Euclidean similarity is the negative distance.

    Returns
    -------
    similarity : Tensor of shape (..., n_items, n_items)
        ``similarity[..., i, j]`` compares prediction ``i`` with true item ``j``.
    """
    if metric == "euclidean":
        return -torch.cdist(predicted, true)
    if metric == "correlation":
        predicted = predicted - predicted.mean(-1, keepdim=True)
        true = true - true.mean(-1, keepdim=True)
    predicted = predicted / predicted.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    true = true / true.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    return predicted @ true.transpose(-1, -2)


def _pair(predicted, true, metric, device):
    check_option("metric", metric, METRICS)
    device = resolve_device(device)
    predicted = to_tensor(predicted, device=device, dtype="float64")
    true = to_tensor(true, device=device, dtype="float64")
    if predicted.ndim < 2 or predicted.shape != true.shape:
        raise DimensionError(
            "'predicted' and 'true' must have the same shape (..., n_items, n_features); got "
            f"{tuple(predicted.shape)} and {tuple(true.shape)}."
        )
    if predicted.shape[-2] < 2:
        raise ValueError(
            f"Identification needs at least 2 items; got {predicted.shape[-2]}. Use more stimuli."
        )
    return similarity_matrix(predicted, true, metric)


def _result(per_item, chance, metric):
    per_item = to_numpy(per_item)
    accuracy = per_item.mean(-1)
    return IdentificationResult(
        accuracy=float(accuracy) if accuracy.ndim == 0 else accuracy,
        per_item=per_item,
        chance=chance,
        metric=metric,
    )


def pairwise_identification(predicted, true, *, metric="correlation", device=None):
    """Pairwise (2-way) identification accuracy.

    For every item ``i`` and every other item ``j``, the decoded vector of ``i`` is
    identified correctly when it is more similar to the true vector of ``i`` than to
    that of ``j`` (ties count 1/2). An item's score is the fraction of the ``n - 1``
    comparisons it wins; chance is 0.5.

    Parameters
    ----------
    predicted : array or Tensor of shape (..., n_items, n_features)
        Decoded (predicted) feature vectors.
    true : array or Tensor of shape (..., n_items, n_features)
        True feature vectors, row ``i`` the same item as row ``i`` of ``predicted``.
    metric : {"correlation", "cosine", "euclidean"}, default="correlation"
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None

    Returns
    -------
    result : IdentificationResult
        ``accuracy`` (float, or an array over the leading dims), ``per_item`` and
        ``chance=0.5``.

    See Also
    --------
    top_k_accuracy : retrieval among all candidates.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import pairwise_identification
    >>> true = np.eye(4)
    >>> pairwise_identification(true + 0.1, true, device="cpu").accuracy
    1.0
    """
    similarity = _pair(predicted, true, metric, device)
    own = similarity.diagonal(dim1=-2, dim2=-1)[..., None]
    n = similarity.shape[-1]
    wins = (own > similarity).sum(-1) + 0.5 * ((own == similarity).sum(-1) - 1)
    return _result(wins / (n - 1), 0.5, metric)


def top_k_accuracy(predicted, true, *, k=1, metric="correlation", device=None):
    """Retrieval accuracy: is the true item among the ``k`` most similar candidates?

    Parameters
    ----------
    predicted : array or Tensor of shape (..., n_items, n_features)
    true : array or Tensor of shape (..., n_items, n_features)
    k : int, default=1
    metric : {"correlation", "cosine", "euclidean"}, default="correlation"
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None

    Returns
    -------
    result : IdentificationResult
        ``per_item`` is 1 where the true item ranks within the top ``k`` (ties
        share their ranks: an item tied with ``t`` others at the boundary scores
        the fraction of tie orders that keep it in the top ``k``); ``chance = k / n_items``.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import top_k_accuracy
    >>> true = np.eye(5)
    >>> result = top_k_accuracy(true[[0, 2, 1, 3, 4]], true, k=1, device="cpu")
    >>> result.accuracy, result.chance
    (0.6, 0.2)
    """
    similarity = _pair(predicted, true, metric, device)
    n = similarity.shape[-1]
    k = check_positive_int("k", k)
    if k > n:
        raise ValueError(f"'k' must be at most the number of items ({n}); got {k}.")
    own = similarity.diagonal(dim1=-2, dim2=-1)[..., None]
    better = (similarity > own).sum(-1)
    tied = (similarity == own).sum(-1)
    # Among the tied items (own included), the slots left in the top k are shared evenly.
    slots = (k - better).clamp(min=0)
    per_item = torch.minimum(slots.to(torch.float64) / tied, torch.ones_like(own[..., 0]))
    return _result(per_item, k / n, metric)
