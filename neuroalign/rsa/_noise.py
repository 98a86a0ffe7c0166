"""Noise covariance and precision estimates for Mahalanobis and crossnobis RDMs.

The estimators follow rsatoolbox 0.3 ``rsatoolbox.data.noise`` exactly
(``_covariance_diag``: Schäfer & Strimmer 2005; ``_covariance_eye``: Ledoit & Wolf
2004), written for a batch of sources at once.
"""

import torch

from neuroalign._backend import resolve_device, to_numpy, to_tensor
from neuroalign._validation import check_option

__all__ = ["NOISE_ESTIMATORS", "noise_precision"]

NOISE_ESTIMATORS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def _shrinkage_eye(x, dof):
    n, n_features = x.shape[-2], x.shape[-1]
    s = x.transpose(-1, -2) @ x / n
    squares = x * x
    b2 = (squares.transpose(-1, -2) @ squares / n - s * s).sum((-1, -2)) / n
    eye = torch.eye(n_features, dtype=x.dtype, device=x.device)
    m = torch.diagonal(s, dim1=-2, dim2=-1).sum(-1) / n_features
    d2 = ((s - m[..., None, None] * eye) ** 2).sum((-1, -2))
    b2 = torch.minimum(d2, b2)
    shrink = (b2 / d2)[..., None, None]
    return (shrink * m[..., None, None] * eye + (1 - shrink) * s) * n / dof


def _shrinkage_diag(x, dof):
    n, n_features = x.shape[-2], x.shape[-1]
    cross = x.transpose(-1, -2) @ x
    squares = x * x
    cross_sq = squares.transpose(-1, -2) @ squares
    s = cross / dof
    var = torch.diagonal(s, dim1=-2, dim2=-1)
    std = var.sqrt()
    s_mean = cross / std[..., None, :] / std[..., :, None] / (n - 1)
    s2_mean = cross_sq / var[..., None, :] / var[..., :, None] / (n - 1)
    var_hat = n / dof**2 * (s2_mean - s_mean**2)
    off = ~torch.eye(n_features, dtype=torch.bool, device=x.device)
    lamb = (var_hat * off).sum((-1, -2)) / ((s_mean**2) * off).sum((-1, -2))
    lamb = lamb.clamp(0, 1)[..., None, None]
    return s * torch.where(off, 1 - lamb, torch.ones_like(s))


def noise_covariance(residuals, *, method="shrinkage_diag", dof=None):
    """Noise covariance of residuals, batched over leading dims (float tensors in, out).

    Parameters
    ----------
    residuals : torch.Tensor of shape (..., n_residuals, n_features)
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}
    dof : int, optional
        Degrees of freedom; default ``n_residuals - 1``.

    Returns
    -------
    covariance : torch.Tensor of shape (..., n_features, n_features)
    """
    check_option("noise", method, NOISE_ESTIMATORS)
    x = residuals - residuals.mean(-2, keepdim=True)
    dof = x.shape[-2] - 1 if dof is None else dof
    if method == "shrinkage_eye":
        return _shrinkage_eye(x, dof)
    if method == "shrinkage_diag":
        return _shrinkage_diag(x, dof)
    if method == "diag":
        return torch.diag_embed((x * x).sum(-2) / dof)
    return x.transpose(-1, -2) @ x / dof


def noise_precision(residuals, *, method="shrinkage_diag", dof=None, device=None):
    """Noise precision (inverse covariance) from residuals, as rsatoolbox's ``prec_from_residuals``.

    Parameters
    ----------
    residuals : array-like of shape ([n_sources,] n_residuals, n_features)
        Residuals of a GLM, or measurements minus their stimulus means.
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}, default="shrinkage_diag"
        ``"shrinkage_diag"`` shrinks the sample covariance towards its diagonal
        (Schäfer & Strimmer 2005); ``"shrinkage_eye"`` towards a multiple of the
        identity (Ledoit & Wolf 2004); ``"diag"`` keeps the variances only;
        ``"full"`` is the unshrunk sample covariance.
    dof : int, optional
        Degrees of freedom of the residuals; default ``n_residuals - 1``. Pass
        ``n_measurements - n_stimuli`` for residuals around stimulus means.
    device : see :func:`neuroalign._backend.resolve_device`, default=None

    Returns
    -------
    precision : numpy.ndarray of shape ([n_sources,] n_features, n_features)
        Computed in float64.

    See Also
    --------
    compute_rdms : takes ``noise=<method>`` to estimate it from repetitions.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import noise_precision
    >>> noise_precision(np.random.default_rng(0).normal(size=(50, 3))).shape
    (3, 3)
    """
    x = to_tensor(residuals, device=resolve_device(device), dtype=torch.float64)
    if x.ndim not in (2, 3):
        raise ValueError(
            "'residuals' must have shape (n_residuals, n_features) or (n_sources, n_residuals, "
            f"n_features); got {tuple(x.shape)}."
        )
    if x.shape[-2] < 2:
        raise ValueError(f"'residuals' needs at least 2 rows; got {x.shape[-2]}.")
    return to_numpy(torch.linalg.inv(noise_covariance(x, method=method, dof=dof)))
