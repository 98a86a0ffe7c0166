"""Fast bootstrap kernels for the linear (Pearson, cosine) and rank (rho-a, Spearman) comparators.

They compute the same numbers as the generic path of :mod:`._inference` with
fewer passes over memory:

- linear comparators and their noise ceilings need only weighted Gram matrices
  of the RDM vectors, i.e. one matrix product of the pair weights with products
  of RDM vectors per batch of samples;
- rank comparators sort each fixed RDM once and obtain its ranks in every sample
  from a cumulative sum of the sample's pair weights in that order; only the
  pooled noise-ceiling predictions, which change with every sample, are sorted
  per sample.
"""

from typing import NamedTuple

import numpy as np
import torch

LINEAR = ("pearson", "cosine")
RANKED = ("rho_a", "spearman")


def argsort_rows(x):
    """Argsort along the last axis (numpy's vectorised quicksort on the CPU)."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.argsort(x.numpy(), axis=-1))
    return torch.argsort(x, dim=-1)


def sort_integer_rows(keys):
    """Sort rows of exact-integer keys: (sorted keys, order), both (..., P).

    On the CPU, key and position are packed into one int64 and sorted by value,
    which numpy does about twice as fast as an argsort.
    """
    if keys.device.type != "cpu":
        return torch.sort(keys, dim=-1)
    values = keys.numpy()
    n = values.shape[-1]
    low = float(values.min()) if values.size else 0.0
    if values.size == 0 or float(values.max()) - low >= 2**31 or n >= 2**32:
        order = torch.from_numpy(np.argsort(values, axis=-1))
        return torch.gather(keys, -1, order), order
    packed = values.astype(np.int64)
    packed -= int(low)
    packed <<= 32
    packed |= np.arange(n, dtype=np.int64)
    packed.sort(axis=-1)
    sorted_keys = packed >> 32
    packed &= 0xFFFFFFFF
    return torch.from_numpy(sorted_keys), torch.from_numpy(packed)


def _tie_segments(sorted_values):
    """Index of the tie group of each entry of rows sorted along the last axis."""
    starts = torch.ones_like(sorted_values, dtype=torch.bool)
    starts[..., 1:] = sorted_values[..., 1:] != sorted_values[..., :-1]
    return torch.cumsum(starts, -1) - 1


def _centred_group_ranks(totals, center):
    """Centred rank of each tie group from the summed weights of the groups (in order)."""
    return torch.cumsum(totals, -1).sub_(totals, alpha=0.5).add_(0.5).sub_(center[:, None, None])


_MAX_GROUPS = 256


class RowRanks(NamedTuple):
    """How to rank a set of fixed RDM vectors in every sample (built once by :func:`plan_ranks`).

    Rows without ties are ranked by a cumulative sum of the sample weights in
    their sorted order; rows with few distinct values (categorical models) by
    summing weights per value with a one-hot matrix; other tied rows per entry.
    """

    untied_rows: torch.Tensor
    untied_order: torch.Tensor  # flat (n_untied * P,) sorted positions
    untied_inverse: torch.Tensor  # flat back to the original order
    grouped_rows: torch.Tensor
    onehot: torch.Tensor  # (P, n_groups) value indicator, groups ascending per row
    membership: torch.Tensor  # (n_groups, n_grouped) which row each group belongs to
    group_start: torch.Tensor  # (n_groups,) first column of the group's row
    group_index: torch.Tensor  # (n_grouped * P,) column of each entry's group
    other_rows: torch.Tensor
    other_order: torch.Tensor  # (n_other, P)
    other_segments: torch.Tensor  # (n_other, P)


def plan_ranks(x):
    """Sort each fixed row of ``x`` (K, P) once and choose how to rank it per sample."""
    n_rows, n = x.shape
    device = x.device
    order = argsort_rows(x).to(device)
    sorted_values = torch.gather(x, -1, order)
    segments = _tie_segments(sorted_values)
    n_groups = segments[:, -1] + 1
    untied = torch.nonzero(n_groups == n).flatten()
    grouped = torch.nonzero((n_groups < n) & (n_groups <= _MAX_GROUPS)).flatten()
    other = torch.nonzero((n_groups < n) & (n_groups > _MAX_GROUPS)).flatten()
    offsets = torch.arange(untied.numel(), device=device)[:, None] * n
    untied_order = order[untied]
    untied_inverse = torch.argsort(order[untied], dim=-1) + offsets
    group_index = torch.empty((grouped.numel(), n), dtype=torch.long, device=device)
    first_column = 0
    starts, sizes = [], []
    for k, row in enumerate(grouped.tolist()):
        group_index[k, order[row]] = segments[row] + first_column
        size = int(n_groups[row])
        starts.append(torch.full((size,), first_column, device=device))
        sizes.append(size)
        first_column += size
    onehot = x.new_zeros((n, first_column))
    onehot[torch.arange(n, device=device)[:, None], group_index.T] = 1
    membership = torch.block_diag(*[x.new_ones((k, 1)) for k in sizes]) if sizes else None
    group_start = torch.cat(starts) if starts else group_index.new_zeros(0)
    return RowRanks(
        untied,
        untied_order.flatten(),
        untied_inverse.flatten(),
        grouped,
        onehot,
        membership,
        group_start,
        group_index.flatten(),
        other,
        order[other],
        segments[other],
    )


def _untied_cumulative(plan, weights):
    """Cumulative sample weight up to each entry of the untied rows, original order."""
    n_samples, n = weights.shape
    k = plan.untied_rows.numel()
    in_order = weights.index_select(1, plan.untied_order).view(n_samples, k * n)
    cumulative = torch.cumsum(in_order.view(n_samples, k, n), -1).view(n_samples, k * n)
    return cumulative.index_select(1, plan.untied_inverse).view(n_samples, k, n)


def _other_ranks(plan, weights, center):
    n_samples, n = weights.shape
    shape = (n_samples,) + tuple(plan.other_order.shape)
    in_order = torch.gather(weights[:, None, :].expand(shape), -1, plan.other_order.expand(shape))
    segments = plan.other_segments.expand(shape)
    totals = torch.zeros_like(in_order).scatter_add_(-1, segments, in_order)
    ranked = torch.gather(_centred_group_ranks(totals, center), -1, segments)
    return torch.empty_like(ranked).scatter_(-1, plan.other_order.expand(shape), ranked)


def fixed_centred_ranks(plan, weights, center):
    """Centred weighted ranks of the planned rows in every sample: (B, K, P)."""
    n_samples, n = weights.shape
    n_rows = plan.untied_rows.numel() + plan.grouped_rows.numel() + plan.other_rows.numel()
    if plan.untied_rows.numel():
        untied = _untied_cumulative(plan, weights).sub_(weights[:, None, :], alpha=0.5)
        untied = untied.add_(0.5).sub_(center[:, None, None])
        if plan.untied_rows.numel() == n_rows:
            return untied
    ranked = weights.new_empty((n_samples, n_rows, n))
    if plan.untied_rows.numel():
        ranked[:, plan.untied_rows] = untied
    if plan.grouped_rows.numel():
        group_ranks = _grouped_ranks(plan, weights @ plan.onehot, center)
        ranked[:, plan.grouped_rows] = group_ranks.index_select(1, plan.group_index).view(
            n_samples, -1, n
        )
    if plan.other_rows.numel():
        ranked[:, plan.other_rows] = _other_ranks(plan, weights, center)
    return ranked


def _grouped_ranks(plan, totals, center):
    """Centred rank of every value group (columns of the one-hot matrix) per sample."""
    cumulative = torch.cumsum(totals, -1)
    before_row = (cumulative - totals).index_select(1, plan.group_start)
    return cumulative - before_row - totals / 2 + 0.5 - center[:, None]


def fixed_inner(plan, weights, center, weighted_targets, target_sum_w):
    """Inner products Σ_p w_p (rank_kp - c) y_tp of the planned rows with targets.

    Parameters
    ----------
    weighted_targets : torch.Tensor of shape (B, T, P)
        ``w * y`` for centred targets y (their weighted sum is 0).
    target_sum_w : torch.Tensor of shape (B, T)
        ``Σ_p w_p (w_p y_tp)``.

    Returns
    -------
    inner : torch.Tensor of shape (B, K, T)
    norms : torch.Tensor of shape (B, K)
        ``Σ_p w_p (rank_kp - c)²``.
    """
    n_samples, n = weights.shape
    n_rows = plan.untied_rows.numel() + plan.grouped_rows.numel() + plan.other_rows.numel()
    inner = weights.new_empty((n_samples, n_rows, weighted_targets.shape[1]))
    norms = weights.new_empty((n_samples, n_rows))
    total = weights.sum(-1)
    if plan.untied_rows.numel():
        cumulative = _untied_cumulative(plan, weights)
        inner[:, plan.untied_rows] = (
            cumulative @ weighted_targets.transpose(-1, -2) - 0.5 * target_sum_w[:, None, :]
        )
        ties = (weights**3 - weights).sum(-1)
        norms[:, plan.untied_rows] = ((total**3 - total - ties) / 12)[:, None]
    if plan.grouped_rows.numel():
        totals = weights @ plan.onehot
        group_ranks = _grouped_ranks(plan, totals, center)
        aggregated = weighted_targets @ plan.onehot
        inner[:, plan.grouped_rows] = (
            (aggregated * group_ranks[:, None, :]) @ plan.membership
        ).transpose(1, 2)
        norms[:, plan.grouped_rows] = (totals * group_ranks**2) @ plan.membership
    if plan.other_rows.numel():
        ranked = _other_ranks(plan, weights, center)
        inner[:, plan.other_rows] = ranked @ weighted_targets.transpose(-1, -2)
        norms[:, plan.other_rows] = (ranked * ranked * weights[:, None, :]).sum(-1)
    return inner, norms


def _compact(weights):
    """Positions (B, L) of the pairs present in each sample, padded with absent pairs."""
    present = weights > 0
    length = int(present.sum(-1).max())
    if weights.device.type == "cpu":
        order = np.argsort(~present.numpy(), axis=-1, kind="stable")[:, :length]
        return torch.from_numpy(np.ascontiguousarray(order))
    return torch.sort((~present).to(torch.uint8), dim=-1, stable=True).indices[:, :length]


def _row_rank_dots(keys, weights, center, targets, paired):
    """Σ_p w_p (rank(keys_r)_p - c) targets_tp for rows whose ranks change per sample.

    ``keys`` are sums of centred ranks, i.e. multiples of 1/2. ``targets`` are
    already multiplied by the weights. Returns the inner products ((B, R) if
    paired else (B, R, T)) and the squared norms (B, R).
    """
    sorted_keys, order = sort_integer_rows(2 * keys)
    segments = _tie_segments(sorted_keys)
    shape = keys.shape
    in_order = torch.gather(weights[:, None, :].expand(shape), -1, order)
    totals = torch.zeros_like(in_order).scatter_add_(-1, segments, in_order)
    group_ranks = _centred_group_ranks(totals, center)
    norms = (totals * group_ranks**2).sum(-1)
    if paired:
        target_order = torch.gather(targets, -1, order)
        aggregated = torch.zeros_like(target_order).scatter_add_(-1, segments, target_order)
        return (aggregated * group_ranks).sum(-1), norms
    ranked = torch.gather(group_ranks, -1, segments)
    ranked = torch.empty_like(ranked).scatter_(-1, order, ranked)
    return ranked @ targets.transpose(-1, -2), norms


def _leave_one_out(total, per_rdm, rdm_counts):
    """Sums over the other RDMs of each sample (all RDMs when only one is present)."""
    loo = total[:, None, :] - rdm_counts[..., None] * per_rdm
    single = ((rdm_counts > 0).sum(-1) == 1)[:, None, None]
    return torch.where(single, total[:, None, :].expand_as(loo), loo)


def _bounds(lower, upper, rdm_counts):
    present = (rdm_counts > 0).to(lower.dtype)
    n_present = present.sum(-1)
    return torch.stack(
        [(lower * present).sum(-1) / n_present, (upper * present).sum(-1) / n_present], -1
    )


def _safe_ratio(numerator, squared_norms):
    norms = squared_norms.clamp(min=0).sqrt()
    ok = norms > 0
    return torch.where(ok, numerator / torch.where(ok, norms, torch.ones_like(norms)), 0)


def rank_samples(method, models, data, weights, rdm_counts, plans):
    """Evaluations (B, M) and noise ceilings (B, 2) for rho-a / Spearman.

    Parameters
    ----------
    models, data : torch.Tensor of shape (M, P), (S, P)
    weights : torch.Tensor of shape (B, P) or None
        Pair weights of pattern resampling (None: all pairs once).
    rdm_counts : torch.Tensor of shape (B, S)
    plans : tuple of RowRanks
        From :func:`plan_ranks` for models and data.
    """
    n_samples = rdm_counts.shape[0]
    if weights is None:
        weights = torch.ones((1, data.shape[1]), dtype=data.dtype, device=data.device)
    total = weights.sum(-1)
    center = (total + 1) / 2
    ry = fixed_centred_ranks(plans[1], weights, center)
    weighted_y = ry * weights[:, None, :]
    inner, norm_x = fixed_inner(
        plans[0], weights, center, weighted_y, (weighted_y * weights[:, None, :]).sum(-1)
    )
    norm_y = (weighted_y * ry).sum(-1)
    if weights.shape[0] == 1:
        ry, weighted_y, weights = (
            t.expand(n_samples, *t.shape[1:]) for t in (ry, weighted_y, weights)
        )
        inner, norm_x, norm_y = (t.expand(n_samples, *t.shape[1:]) for t in (inner, norm_x, norm_y))
        total, center = total.expand(n_samples), center.expand(n_samples)
    else:
        positions = _compact(weights)
        weights = torch.gather(weights, 1, positions)
        ry = torch.gather(ry, -1, positions[:, None, :].expand(-1, ry.shape[1], -1))
        weighted_y = ry * weights[:, None, :]
    pooled = torch.einsum("bs,bsp->bp", rdm_counts, ry)
    lower, lower_norm = _row_rank_dots(
        _leave_one_out(pooled, ry, rdm_counts), weights, center, weighted_y, True
    )
    upper, upper_norm = _row_rank_dots(pooled[:, None, :], weights, center, weighted_y, False)
    upper = upper[:, 0, :]
    if method == "rho_a":
        scale = 12 / (total**3 - total)
        sims, lower, upper = (
            inner * scale[:, None, None],
            lower * scale[:, None],
            upper * scale[:, None],
        )
    else:
        sims = _safe_ratio(inner, norm_x[:, :, None] * norm_y[:, None, :])
        lower = _safe_ratio(lower, lower_norm * norm_y)
        upper = _safe_ratio(upper, upper_norm * norm_y)
    evaluations = (sims * rdm_counts[:, None, :]).sum(-1) / rdm_counts.sum(-1, keepdim=True)
    return evaluations, _bounds(lower, upper, rdm_counts)


def _products(a, b):
    return (a[:, None, :] * b[None, :, :]).reshape(a.shape[0] * b.shape[0], -1)


def linear_samples(method, models, data, weights, rdm_counts):
    """Evaluations (B, M) and noise ceilings (B, 2) for Pearson / cosine from Gram matrices."""
    n_models, n_rdms = models.shape[0], data.shape[0]
    n_samples = rdm_counts.shape[0]
    if weights is None:
        weights = torch.ones((1, data.shape[1]), dtype=data.dtype, device=data.device)
    total = weights.sum(-1)[:, None]
    sum_x, sum_y = weights @ models.T, weights @ data.T
    xx = weights @ (models * models).T
    xy = (weights @ _products(models, data).T).view(-1, n_models, n_rdms)
    yy = (weights @ _products(data, data).T).view(-1, n_rdms, n_rdms)
    if method == "pearson":
        xx = xx - sum_x**2 / total
        xy = xy - sum_x[:, :, None] * sum_y[:, None, :] / total[:, :, None]
        yy = yy - sum_y[:, :, None] * sum_y[:, None, :] / total[:, :, None]
    yy_diag = torch.diagonal(yy, dim1=-2, dim2=-1)
    sims = _safe_ratio(xy, xx[:, :, None] * yy_diag[:, None, :])
    sims, yy, yy_diag, total = (
        t.expand(n_samples, *t.shape[1:]) for t in (sims, yy, yy_diag, total)
    )
    evaluations = (sims * rdm_counts[:, None, :]).sum(-1) / rdm_counts.sum(-1, keepdim=True)
    scale = (yy_diag / total).sqrt()
    gram = yy / scale[:, :, None] / scale[:, None, :]
    cross = yy / scale[:, :, None]
    size = rdm_counts.sum(-1, keepdim=True)
    eye = torch.eye(n_rdms, dtype=data.dtype, device=data.device)
    leave_out = (rdm_counts[:, None, :] - eye * rdm_counts[:, :, None]) / (size - rdm_counts).clamp(
        min=1
    )[:, :, None]
    single = ((rdm_counts > 0).sum(-1) == 1)[:, None, None]
    share = rdm_counts / size
    coefficients = torch.where(single, share[:, None, :].expand_as(leave_out), leave_out)
    lower = _safe_ratio(
        torch.einsum("but,btu->bu", coefficients, cross),
        torch.einsum("but,btv,buv->bu", coefficients, gram, coefficients) * yy_diag,
    )
    upper = _safe_ratio(
        torch.einsum("bt,btu->bu", share, cross),
        torch.einsum("bt,btv,bv->b", share, gram, share)[:, None] * yy_diag,
    )
    return evaluations, _bounds(lower, upper, rdm_counts)
