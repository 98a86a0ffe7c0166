"""Sliding decoding of many label permutations at once with an unweighted ridge classifier.

The weights of an unweighted ridge classifier are linear in its targets, and its
system matrix (the penalised scatter of the training rows) does not depend on which
row carries which label, so all permutations of a fold share one Cholesky
factorisation and add only their class sums as right-hand sides
(:func:`~neuroalign.decoding._solvers.ridge_solution`).
"""

import torch

from neuroalign._backend import plan_batches
from neuroalign.decoding._scoring import score_decisions
from neuroalign.decoding._solvers import (
    LinearDecision,
    class_statistics,
    ridge_solution,
    ridge_system,
    training_standardisation,
)

__all__ = ["ridge_null_scores"]

_FLOAT64 = torch.float64


def ridge_null_scores(
    data, permutations, folds, n_classes, *, scoring, standardize, max_memory, alpha=1.0
):
    """Mean cross-validated sliding score of an unweighted ridge classifier per relabelling.

    Parameters
    ----------
    data : Tensor of shape (n_times, n_epochs, n_features)
        Epochs centred per time point (as :func:`decode_over_time` prepares them).
    permutations : Tensor of int64 of shape (n_permutations, n_epochs)
        Class code of every epoch under every relabelling.
    folds : list of (numpy.ndarray, numpy.ndarray)
        Train and test epoch indices; every fold needs at least as many training
        epochs as features (the primal solution).
    n_classes : int
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}
    standardize : bool
    max_memory : int or str or None
        Budget for the weights and decision values of a batch of relabellings.
    alpha : float, default=1.0

    Returns
    -------
    scores : Tensor of float64 of shape (n_permutations, n_times)
        Mean over folds, as ``decode_over_time(...).mean`` for every relabelling.
    """
    n_times, _, n_features = data.shape
    n_permutations = permutations.shape[0]
    n_outputs = 1 if n_classes == 2 else n_classes
    device = data.device
    per_class = torch.ones(n_classes, dtype=_FLOAT64, device=device)
    totals = torch.zeros(n_permutations, n_times, dtype=_FLOAT64, device=device)
    for train, test in folds:
        train = torch.as_tensor(train, device=device)
        test = torch.as_tensor(test, device=device)
        block = data[:, train]
        # The system comes from any one labelling: the scatter sums over the classes.
        stats = class_statistics(block, permutations[0, train], n_classes, per_class=False)
        _, scale = training_standardisation(stats, data.dtype)
        if not standardize:
            scale = torch.ones_like(scale)
        system = ridge_system(stats, per_class, scale, alpha=alpha)
        held_out = data[:, test]
        # Class sums, weights and decision values of one relabelling (float64 solves).
        per_item = 8 * n_times * (n_classes * n_features + 2 * n_outputs * (n_features + len(test)))
        for batch in plan_batches(n_permutations, per_item, max_memory, device=device):
            codes = permutations[batch][:, train]
            one_hot = torch.nn.functional.one_hot(codes, n_classes).to(data.dtype)
            rows = one_hot.transpose(1, 2).reshape(-1, len(train))  # (relabelling, class) rows
            sums = (rows @ block).to(_FLOAT64).view(n_times, len(codes), n_classes, n_features)
            counts = one_hot.sum(1, dtype=_FLOAT64)
            coef, bias = ridge_solution(system, sums, counts, per_class)
            decisions = LinearDecision(coef, bias).decisions(held_out)
            decisions = decisions.view(n_times, len(test), len(codes), n_outputs)
            for index, relabelling in enumerate(range(batch.start, batch.stop)):
                totals[relabelling] += score_decisions(
                    decisions[:, :, index], permutations[relabelling, test], n_classes, scoring
                )
    return totals / len(folds)
