"""Batched classification scores from decision values: accuracy, balanced accuracy, ROC AUC."""

import torch

from neuroalign._backend import plan_batches

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


def _auc(scores, positive, max_memory):
    """ROC AUC of ``scores`` (..., n_samples) for a boolean ``positive`` mask, ties count 1/2."""
    pos, neg = scores[..., positive], scores[..., ~positive]
    lead = scores.shape[:-1]
    pos, neg = pos.reshape(-1, pos.shape[-1]), neg.reshape(-1, neg.shape[-1])
    n_pairs = pos.shape[-1] * neg.shape[-1]
    totals = torch.empty(pos.shape[0], dtype=torch.float64, device=scores.device)
    for batch in plan_batches(pos.shape[0], 3 * n_pairs, max_memory, device=scores.device):
        difference = pos[batch, :, None] - neg[batch, None, :]
        wins = (difference > 0).sum((1, 2)).to(torch.float64)
        ties = (difference == 0).sum((1, 2)).to(torch.float64)
        totals[batch] = (wins + 0.5 * ties) / n_pairs
    return totals.reshape(lead)


def score_decisions(decisions, codes, n_classes, scoring, *, max_memory=None):
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
    max_memory : int or str or None, default=None
        Budget for the pairwise comparisons of the AUC.

    Returns
    -------
    scores : Tensor of float64 of shape (...)
    """
    codes = codes.to(decisions.device)
    present = torch.unique(codes)
    if scoring == "roc_auc":
        if decisions.shape[-1] == 1:
            return _auc(decisions[..., 0], codes == 1, max_memory)
        per_class = [_auc(decisions[..., k], codes == k, max_memory) for k in present.tolist()]
        return torch.stack(per_class).mean(0)
    correct = (predict_codes(decisions) == codes).to(torch.float64)
    if scoring == "accuracy":
        return correct.mean(-1)
    recalls = [correct[..., codes == k].mean(-1) for k in present.tolist()]
    return torch.stack(recalls).mean(0)
