"""Per-target scores of predictions: Pearson correlation and R².

Array level: inputs are numpy arrays or torch tensors with samples along axis -2
(or a single axis for 1-D input); torch in gives torch out on the same device,
numpy in gives numpy out. Sums are accumulated in float64 whatever the input
dtype, so float32 inputs lose nothing to long reductions.
"""

import warnings

import numpy as np
import torch

from neuroalign.exceptions import NeuroalignWarning

__all__ = ["pearson_r", "r2_score"]

_FLOAT64 = torch.float64


# --- shared helpers (also used by _ceilings and _bootstrap) ---------------------------------


def _compute_dtype(*dtypes):
    """Float dtype to compute in: the promoted float type; half types and integers widen.

    float16 and bfloat16 are computed in float32; integer and boolean inputs (e.g.
    spike counts) in float64.
    """
    promoted = dtypes[0]
    for dtype in dtypes[1:]:
        promoted = torch.promote_types(promoted, dtype)
    if not promoted.is_floating_point:
        return _FLOAT64
    if promoted in (torch.float16, torch.bfloat16):
        return torch.float32
    return promoted


def _as_tensors(arrays, names, *, device=None):
    """Convert arrays to tensors on one device and say how to return results.

    Parameters
    ----------
    arrays : sequence of array-like or torch.Tensor
    names : sequence of str
        Argument names, for error messages.
    device : torch.device or None
        Where to compute; ``None`` computes where the tensors live (CPU for numpy).

    Returns
    -------
    tensors : list of torch.Tensor
        In the compute dtype, on the compute device (no copy when nothing changes).
    torch_out : bool
        Whether any input was a tensor (then results are tensors).
    out_device : torch.device
        Device of the tensor inputs (CPU when all inputs were numpy).
    dtype : torch.dtype
        The compute (and output) dtype.
    """
    devices = {str(a.device) for a in arrays if isinstance(a, torch.Tensor)}
    if len(devices) > 1:
        placed = ", ".join(
            f"{name!r} on {a.device}"
            for name, a in zip(names, arrays)
            if isinstance(a, torch.Tensor)
        )
        raise ValueError(f"Tensors must be on the same device; got {placed}. Move them first.")
    torch_out = bool(devices)
    out_device = torch.device(devices.pop()) if devices else torch.device("cpu")
    tensors = []
    for name, array in zip(names, arrays):
        if not isinstance(array, torch.Tensor):
            values = np.asarray(array)
            if values.dtype.kind not in "biuf":
                raise TypeError(
                    f"{name!r} must hold numbers; got an array of dtype {values.dtype}."
                )
            if not values.flags.writeable or any(stride < 0 for stride in values.strides):
                # torch cannot share read-only memory or negative strides; nothing here
                # writes to the input, so a copy is only needed in these cases.
                values = values.copy()
            array = torch.as_tensor(values)
        elif array.is_complex():
            raise TypeError(f"{name!r} must hold real numbers; got dtype {array.dtype}.")
        tensors.append(array)
    dtype = _compute_dtype(*(t.dtype for t in tensors))
    target = out_device if device is None else device
    tensors = [t.to(device=target, dtype=dtype) for t in tensors]
    return tensors, torch_out, out_device, dtype


def _output(tensor, torch_out, out_device, dtype):
    """Return a result like the inputs: tensor on ``out_device`` or numpy array."""
    tensor = tensor.to(dtype=dtype)
    if torch_out:
        return tensor.to(out_device)
    result = tensor.detach().cpu().numpy()
    return result[()] if result.ndim == 0 else result


def _shape_pair(y_true, y_pred, names=("y_true", "y_pred")):
    """Check two tensors of samples and give them a target axis.

    Returns
    -------
    y_true, y_pred : torch.Tensor of shape (..., n_samples, n_targets)
        1-D inputs become ``(n_samples, 1)``; leading dims broadcast.
    scalar : bool
        Whether both inputs were 1-D (results are then 0-d).
    """
    for name, t in zip(names, (y_true, y_pred)):
        if t.ndim == 0:
            raise ValueError(
                f"{name!r} must have shape (n_samples,) or (..., n_samples, n_targets); "
                "got a scalar."
            )
    scalar = y_true.ndim == 1 and y_pred.ndim == 1
    y_true = y_true[:, None] if y_true.ndim == 1 else y_true
    y_pred = y_pred[:, None] if y_pred.ndim == 1 else y_pred
    n_true, n_pred = y_true.shape[-2], y_pred.shape[-2]
    if n_true != n_pred:
        raise ValueError(
            f"{names[0]!r} and {names[1]!r} must have the same number of samples along axis "
            f"-2; got {n_true} (shape {tuple(y_true.shape)}) and {n_pred} "
            f"(shape {tuple(y_pred.shape)})."
        )
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError as err:
        raise ValueError(
            f"{names[0]!r} of shape {tuple(y_true.shape)} and {names[1]!r} of shape "
            f"{tuple(y_pred.shape)} do not broadcast; give them the same number of targets "
            "(last axis) and broadcastable leading axes."
        ) from err
    if n_true < 2:
        raise ValueError(
            f"Scores need at least 2 samples along axis -2; got {n_true} "
            f"({names[0]!r} has shape {tuple(y_true.shape)})."
        )
    return y_true, y_pred, scalar


def _group_sum(values, codes, n_groups, weights=None):
    """Sum the rows of ``values`` (n_rows, m) within groups, as one sparse matrix product.

    ``codes`` (n_rows,) gives each row's group; ``weights`` (n_rows,) optionally scales
    the rows. Much faster than ``index_add_`` on CPU.
    """
    n_rows = values.shape[0]
    codes = torch.as_tensor(codes, device=values.device)
    if weights is None:
        weights = torch.ones(n_rows, dtype=values.dtype, device=values.device)
    grouping = torch.sparse_coo_tensor(
        torch.stack([codes, torch.arange(n_rows, device=values.device)]),
        weights.to(values.dtype),
        (n_groups, n_rows),
        check_invariants=False,  # valid by construction
    )
    return torch.sparse.mm(grouping, values)


def _is_constant(values, dim=-2):
    """Exactly constant along ``dim`` (NaN counts as not constant)."""
    return (values == values.narrow(dim, 0, 1)).all(dim)


def _centred(values, dim=-2):
    """Values minus their mean along ``dim``; the mean is accumulated in float64."""
    mean = values.sum(dim, keepdim=True, dtype=_FLOAT64) / values.shape[dim]
    return values - mean.to(values.dtype)


def _pearson(y_true, y_pred):
    """Pearson r along axis -2 with float64 sums; constant columns give 0.

    Parameters
    ----------
    y_true, y_pred : torch.Tensor of shape (..., n_samples, n_targets), broadcastable

    Returns
    -------
    r : torch.Tensor of float64, shape (..., n_targets)
    constant : torch.Tensor of bool, same shape
        Where ``y_true`` or ``y_pred`` is constant (r set to 0).
    """
    ct, cp = _centred(y_true), _centred(y_pred)
    sxy = (ct * cp).sum(-2, dtype=_FLOAT64)
    sxx = (ct * ct).sum(-2, dtype=_FLOAT64)
    syy = (cp * cp).sum(-2, dtype=_FLOAT64)
    constant = _is_constant(y_true) | _is_constant(y_pred)
    constant = constant.expand(sxy.shape)
    denominator = torch.where(constant, 1.0, torch.sqrt(sxx * syy))
    r = torch.where(constant, 0.0, sxy / denominator)
    return r.clamp(-1.0, 1.0), constant


def _r2(y_true, y_pred):
    """R² along axis -2 (scikit-learn's definition) with float64 sums.

    Returns
    -------
    r2 : torch.Tensor of float64, shape (..., n_targets)
    constant : torch.Tensor of bool, same shape
        Where ``y_true`` is constant (R² is 1.0 for an exact prediction, else 0.0).
    """
    ss_tot = _centred(y_true).square().sum(-2, dtype=_FLOAT64)
    ss_res = (y_true - y_pred).square().sum(-2, dtype=_FLOAT64)
    constant = _is_constant(y_true).expand(ss_res.shape)
    ss_tot = ss_tot.expand(ss_res.shape)
    degenerate = torch.where(ss_res == 0, 1.0, 0.0).to(_FLOAT64)
    r2 = torch.where(constant, degenerate, 1.0 - ss_res / torch.where(constant, 1.0, ss_tot))
    return r2, constant


def _warn_constant(n_constant, n_total, message, stacklevel):
    if n_constant:
        warnings.warn(
            message.format(n=n_constant, total=n_total), NeuroalignWarning, stacklevel=stacklevel
        )


# --- public scores ---------------------------------------------------------------------------


def pearson_r(y_true, y_pred):
    """Pearson correlation between observed and predicted values, per target.

    Parameters
    ----------
    y_true : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Observed values; samples along axis -2 (the only axis of a 1-D input).
    y_pred : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Predicted values. Leading axes broadcast against those of ``y_true`` (e.g.
        predictions for several regularisation strengths of shape
        ``(n_alphas, n_samples, n_targets)`` against one ``y_true``); a 1-D input
        broadcasts over the targets of the other.

    Returns
    -------
    r : array or Tensor of shape (..., n_targets), or 0-d when both inputs are 1-D
        torch in gives a tensor on the inputs' device, numpy in a numpy array. Dtype:
        the inputs' promoted float dtype (float16/bfloat16 give float32, integers
        float64). Means and sums of products are accumulated in float64.

    Raises
    ------
    ValueError
        If the inputs differ in their number of samples, do not broadcast, have fewer
        than 2 samples, or are tensors on different devices.

    Warns
    -----
    NeuroalignWarning
        When a target has a constant ``y_true`` or ``y_pred`` (exactly equal values):
        its correlation is undefined and is returned as 0, never NaN. One warning per
        call gives the number of such targets. NaN in the inputs propagates to the
        targets it touches.

    See Also
    --------
    r2_score : coefficient of determination per target.
    neuroalign.stats.bootstrap_scores : confidence intervals of these scores.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import pearson_r
    >>> y = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0]])
    >>> pearson_r(y, y).tolist()
    [1.0, 1.0]
    >>> round(float(pearson_r(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]))), 3)
    0.5
    """
    (y_true, y_pred), torch_out, out_device, dtype = _as_tensors(
        (y_true, y_pred), ("y_true", "y_pred")
    )
    y_true, y_pred, scalar = _shape_pair(y_true, y_pred)
    r, constant = _pearson(y_true, y_pred)
    _warn_constant(
        int(constant.sum()),
        constant.numel(),
        "pearson_r: {n} of {total} targets have a constant y_true or y_pred; their "
        "correlation is undefined and was set to 0.",
        stacklevel=3,
    )
    return _output(r[..., 0] if scalar else r, torch_out, out_device, dtype)


def r2_score(y_true, y_pred):
    """Coefficient of determination R² per target, as scikit-learn defines it.

    ``R² = 1 - sum((y_true - y_pred)²) / sum((y_true - mean(y_true))²)`` over samples,
    the same as ``sklearn.metrics.r2_score(y_true, y_pred, multioutput="raw_values")``.
    It can be negative for predictions worse than the mean.

    Parameters
    ----------
    y_true : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Observed values; samples along axis -2.
    y_pred : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Predictions; leading axes broadcast as in :func:`pearson_r`.

    Returns
    -------
    r2 : array or Tensor of shape (..., n_targets), or 0-d when both inputs are 1-D
        Same type, device and dtype rules as :func:`pearson_r`; sums of squares are
        accumulated in float64.

    Raises
    ------
    ValueError
        If the inputs differ in their number of samples, do not broadcast or have
        fewer than 2 samples.

    Warns
    -----
    NeuroalignWarning
        When a target's ``y_true`` is constant. Following scikit-learn
        (``force_finite=True``), its R² is 1.0 if the prediction is exact and 0.0
        otherwise. Constancy is tested exactly (all values equal), so a constant
        float column whose mean is not representable is still treated as constant,
        where scikit-learn would divide by a rounding residue.

    See Also
    --------
    pearson_r : correlation per target.
    neuroalign.stats.bootstrap_scores : confidence intervals of these scores.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import r2_score
    >>> y = np.array([[1.0], [2.0], [3.0]])
    >>> r2_score(y, y).tolist(), r2_score(y, y + 1.0).tolist()
    ([1.0], [-0.5])
    """
    (y_true, y_pred), torch_out, out_device, dtype = _as_tensors(
        (y_true, y_pred), ("y_true", "y_pred")
    )
    y_true, y_pred, scalar = _shape_pair(y_true, y_pred)
    r2, constant = _r2(y_true, y_pred)
    _warn_constant(
        int(constant.sum()),
        constant.numel(),
        "r2_score: {n} of {total} targets have a constant y_true; following scikit-learn, "
        "their R² is 1.0 where y_pred equals y_true exactly and 0.0 otherwise.",
        stacklevel=3,
    )
    return _output(r2[..., 0] if scalar else r2, torch_out, out_device, dtype)
