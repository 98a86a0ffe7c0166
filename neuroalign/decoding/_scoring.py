"""Batched classification scores from decision values: accuracy, balanced accuracy, ROC AUC."""

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


def _auc(scores, positive):
    """ROC AUC of ``scores`` (..., n_samples) for a boolean ``positive`` mask, ties count 1/2.

    One sort per row; runs of equal scores form groups, and each group adds
    ``positives * (negatives below + negatives in the group / 2)``.
    """
    lead = scores.shape[:-1]
    flat = scores.reshape(-1, scores.shape[-1])
    values, order = flat.sort(-1)
    is_positive = positive.to(torch.float64)[order]
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    group = starts.cumsum(-1) - 1
    positives = torch.zeros_like(is_positive).scatter_add_(1, group, is_positive)
    negatives = torch.zeros_like(is_positive).scatter_add_(1, group, 1.0 - is_positive)
    below = negatives.cumsum(-1) - negatives
    n_pos = int(positive.sum())
    n_neg = positive.numel() - n_pos
    wins = (positives * (below + 0.5 * negatives)).sum(-1)
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
