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
    """Class index from decision values of shape (..., n_samples, n_outputs).

    The first largest output wins ties, as with ``argmax``; ``torch.max`` over the
    outputs is 7-15% faster than ``argmax`` on CPU.
    """
    if decisions.shape[-1] == 1:
        return (decisions[..., 0] > 0).long()
    return torch.max(decisions, -1).indices


def _wins_below(ordered, positive_bit, work=None):
    """Per row of sorted integer keys, the positives' count of negatives before them.

    The lowest bit of a key is ``positive_bit`` for positive samples and
    ``1 - positive_bit`` for negatives; ``work`` is an optional int32 buffer of the
    keys' shape.
    """
    is_positive = np.bitwise_and(ordered, 1, out=work)
    if not positive_bit:
        is_positive ^= 1
    n_pos = int(is_positive[0].sum())
    n = ordered.shape[-1]
    # Integer sums of positions are exact; int32 ones while they cannot overflow.
    exact = is_positive.dtype if n * (n - 1) // 2 < np.iinfo(np.int32).max else np.int64
    positions = np.arange(n, dtype=exact)
    return (is_positive @ positions).astype(np.float64) - n_pos * (n_pos - 1) / 2


def _auc_float32_cpu(flat, positive, block=4096):
    """Mann-Whitney wins of float32 CPU rows through NumPy's vectorised int32 sort.

    The lowest bit of every score's bits is replaced by the label, and the bits
    become order-preserving int32 keys (the label bit kept), so one in-place sort
    of 32-bit keys ranks each row. Clearing that bit merges each pair of adjacent
    float32 values: only a positive and a negative in one such pair can be
    misordered, and they are then neighbours in the sorted row whose keys differ
    in the label bit alone. The rows where that happens (ties and 1-ulp neighbours
    across classes, rare) are ranked exactly again with 64-bit keys, the label in
    an extra bit, counting ties as 1/2. Rows go in blocks through two int32
    buffers, which stay in the CPU caches.
    """
    values = flat.numpy()
    label = positive.cpu().numpy().astype(np.int32)
    wins = np.empty(len(values))
    keys = np.empty((min(block, len(values)), values.shape[1]), dtype=np.int32)
    work = np.empty_like(keys)
    mixed = []
    for start in range(0, len(values), block):
        rows = values[start : start + block]
        part, spare = keys[: len(rows)], work[: len(rows)]
        np.add(rows, 0.0, out=part.view(np.float32))  # -0.0 as 0.0
        part &= ~1
        part |= label
        # Negative floats order backwards: flip their bits but the sign and the label.
        _flip_negatives_(part, spare, 0x7FFFFFFE)
        part.sort(axis=-1)
        wins[start : start + len(rows)] = _wins_below(part, 1, spare)
        neighbours = np.bitwise_xor(part[:, 1:], part[:, :-1], out=spare[:, 1:]) == 1
        mixed.append(start + np.unique(np.flatnonzero(neighbours) // neighbours.shape[1]))
    mixed = np.concatenate(mixed)
    if len(mixed):
        exact = _order_keys(flat[mixed]).astype(np.int64) << 1
        exact |= label
        with_ties = _wins_below(np.sort(exact, axis=-1), 1)
        without_ties = _wins_below(np.sort(exact ^ 1, axis=-1), 0)
        wins[mixed] = 0.5 * (with_ties + without_ties)
    return torch.from_numpy(wins)


def _flip_negatives_(bits, spare, mask):
    """Make the int32 bits of floats order-preserving, in place: flip ``mask`` of negatives.

    ``spare`` is an int32 buffer of the same shape.
    """
    np.right_shift(bits, 31, out=spare)
    spare &= mask
    bits ^= spare
    return bits


def _order_keys(flat):
    """Order-preserving int32 keys of float32 CPU rows (``-0.0`` as ``0.0``)."""
    bits = (flat + 0.0).numpy().view(np.int32)
    return _flip_negatives_(bits, np.empty_like(bits), 0x7FFFFFFF)


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
