"""Batched classification scores from decision values: accuracy, balanced accuracy, ROC AUC."""

import numpy as np
import torch

__all__ = ["SCORINGS", "chance_level", "predict_codes", "score_decisions"]

SCORINGS = ("roc_auc", "accuracy", "balanced_accuracy")


def chance_level(scoring, n_classes):
    """Expected score of a guessing classifier.

    Parameters
    ----------
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}
    n_classes : int

    Returns
    -------
    chance : float
        0.5 for ROC AUC, ``1 / n_classes`` otherwise (for accuracy this assumes
        balanced classes; the majority-class rate is the stricter baseline).
    """
    return 0.5 if scoring == "roc_auc" else 1.0 / n_classes


def predict_codes(decisions):
    """Class index from decision values of shape (..., n_samples, n_outputs)."""
    if decisions.shape[-1] == 1:
        return (decisions[..., 0] > 0).long()
    return decisions.argmax(-1)


def _wins_below(keys, positive_bit):
    """Per row, the positives' count of negatives sorted before them.

    ``keys`` (rows, n_samples) are int64 sort keys whose lowest bit is
    ``positive_bit`` for positive samples and ``1 - positive_bit`` for negatives, so
    within ties negatives come first when ``positive_bit`` is 1 (ties counted as
    wins) and last when it is 0 (ties not counted). Also returns the sorted keys.
    """
    ordered = np.sort(keys, axis=-1)
    is_positive = (ordered & 1) == positive_bit
    n_pos = int(is_positive[0].sum())
    positions = np.arange(keys.shape[-1], dtype=np.float64)
    return is_positive @ positions - n_pos * (n_pos - 1) / 2, ordered


def _auc_float32_cpu(flat, positive):
    """Mann-Whitney wins of float32 CPU rows through NumPy's vectorised integer sort.

    Every score becomes an order-preserving integer with the label in an extra low
    bit; one sort per row then counts the negatives below each positive. Rows with
    tied scores are sorted a second time with the label bit flipped, and the two
    counts (ties as wins, ties as losses) are averaged.
    """
    bits = (flat + 0.0).numpy().view(np.int32)  # + 0.0 turns -0.0 into 0.0
    keys = (bits ^ ((bits >> 31) & 0x7FFFFFFF)).astype(np.int64)
    keys <<= 1
    keys |= positive.cpu().numpy()
    with_ties, ordered = _wins_below(keys, 1)
    # A negative key 2v followed by 2v + 1 is a tie across classes (2v + 1 twice is a
    # harmless tie between positives).
    adjacent = (ordered[:, :-1] | 1) == ordered[:, 1:]
    if adjacent.any():
        tied = adjacent.any(-1)
        without_ties, _ = _wins_below(keys[tied] ^ 1, 0)
        with_ties[tied] = 0.5 * (with_ties[tied] + without_ties)
    return torch.from_numpy(with_ties)


def _auc_sorted_groups(flat, positive):
    """Mann-Whitney wins by one sort per row; ties form groups that count 1/2."""
    values, order = flat.sort(-1)
    is_positive = positive.to(torch.float64)[order]
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    group = starts.cumsum(-1) - 1
    positives = torch.zeros_like(is_positive).scatter_add_(1, group, is_positive)
    negatives = torch.zeros_like(is_positive).scatter_add_(1, group, 1.0 - is_positive)
    below = negatives.cumsum(-1) - negatives
    return (positives * (below + 0.5 * negatives)).sum(-1)


def _auc(scores, positive):
    """ROC AUC of ``scores`` (..., n_samples) for a boolean ``positive`` mask, ties count 1/2.

    Float32 scores on the CPU are ranked by NumPy's vectorised sort (several times
    faster than ``torch.sort`` on the many short rows of a generalisation matrix);
    other dtypes and devices by ``torch.sort``.
    """
    lead = scores.shape[:-1]
    flat = scores.reshape(-1, scores.shape[-1])
    if flat.dtype == torch.float32 and flat.device.type == "cpu":
        wins = _auc_float32_cpu(flat, positive).to(flat.device)
    else:
        wins = _auc_sorted_groups(flat, positive)
    n_pos = int(positive.sum())
    n_neg = positive.numel() - n_pos
    return (wins / (n_pos * n_neg)).reshape(lead)


def score_decisions(decisions, codes, n_classes, scoring):
    """Score decision values against true classes, batched over leading dims.

    Parameters
    ----------
    decisions : Tensor of shape (..., n_samples, n_outputs)
        One output (score of class 1) for binary problems, ``n_classes`` otherwise.
    codes : Tensor of int64 of shape (n_samples,)
    n_classes : int
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}
        ROC AUC is one-vs-rest, macro-averaged over the classes present in ``codes``,
        for more than two classes.

    Returns
    -------
    scores : Tensor of float64 of shape (...)
    """
    codes = codes.to(decisions.device)
    present = torch.unique(codes)
    if scoring == "roc_auc":
        if decisions.shape[-1] == 1:
            return _auc(decisions[..., 0], codes == 1)
        per_class = [_auc(decisions[..., k], codes == k) for k in present.tolist()]
        return torch.stack(per_class).mean(0)
    correct = (predict_codes(decisions) == codes).to(torch.float64)
    if scoring == "accuracy":
        return correct.mean(-1)
    recalls = [correct[..., codes == k].mean(-1) for k in present.tolist()]
    return torch.stack(recalls).mean(0)
