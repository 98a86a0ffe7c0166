"""Differentiable brain objectives: images -> one score per image to maximise."""

import numpy as np
import torch
from torch import nn

from neuroalign._validation import close_matches_hint
from neuroalign.exceptions import DimensionError

__all__ = ["BrainObjective", "ContrastObjective", "contrast"]


class BrainObjective(nn.Module):
    """Mean predicted activation of a region, of chosen targets, or a weighted sum.

    Parameters
    ----------
    encoder : ImageEncoder or torch.nn.Module
        Maps images (batch, 3, height, width) in [0, 1] to responses (batch, n_targets).
    region : str or sequence of str, optional
        ROI label(s) among ``encoder.regions``; the objective is the mean over their
        targets.
    neuroids : sequence of int or str, optional
        Target indices, or identifiers among ``encoder.neuroid_ids``.
    weights : array-like of shape (n_targets,), optional
        Weight of every target (e.g. +1 and -1 for a contrast within one encoder).

    Give at most one of ``region``, ``neuroids`` and ``weights``; with none, the
    objective is the mean over all targets.

    Raises
    ------
    ValueError
        If a region or neuroid does not exist (the message lists what does), more than
        one selection is given, or a region is asked of an encoder without region
        labels.
    DimensionError
        If ``weights`` does not have one entry per target.

    Examples
    --------
    >>> import torch
    >>> from neuroalign.synthesis import BrainObjective
    >>> encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 4))
    >>> encoder.regions = ["a", "a", "b", "b"]
    >>> BrainObjective(encoder, region="b")(torch.rand(5, 3, 2, 2)).shape
    torch.Size([5])
    """

    def __init__(self, encoder, *, region=None, neuroids=None, weights=None):
        super().__init__()
        given = [
            name
            for name, v in (("region", region), ("neuroids", neuroids), ("weights", weights))
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"Give at most one of 'region', 'neuroids' and 'weights'; got {given}."
            )
        self.encoder = encoder
        self.description = "all targets"
        selection = None
        if region is not None:
            selection, self.description = _region_weights(encoder, region)
        elif neuroids is not None:
            selection, self.description = _neuroid_weights(encoder, neuroids)
        elif weights is not None:
            selection = torch.as_tensor(np.asarray(weights, dtype=np.float32))
            if selection.ndim != 1:
                raise DimensionError(
                    f"'weights' must be 1-D, one weight per target; got shape "
                    f"{tuple(selection.shape)}."
                )
            self.description = "weighted targets"
        self.register_buffer("target_weights", selection)

    def forward(self, images):
        """The objective of every image.

        Parameters
        ----------
        images : Tensor of shape (batch, 3, height, width)
            RGB values in [0, 1].

        Returns
        -------
        scores : Tensor of shape (batch,)
        """
        responses = self.encoder(images)
        if self.target_weights is None:
            return responses.mean(dim=1)
        if responses.shape[1] != len(self.target_weights):
            raise DimensionError(
                f"The encoder predicts {responses.shape[1]} targets but the objective "
                f"weights {len(self.target_weights)}; build the objective from this encoder."
            )
        return responses @ self.target_weights


class ContrastObjective(nn.Module):
    """``weight_a * a(images) - weight_b * b(images)``: raise one objective, lower another.

    Between two regions of one encoder it asks for selective images; between the same
    region of two encoders (models, subjects) it asks for controversial images.

    Parameters
    ----------
    a, b : torch.nn.Module
        Objectives mapping images to (batch,) scores.
    weight_a, weight_b : float, default=1.0

    Examples
    --------
    >>> import torch
    >>> from neuroalign.synthesis import ContrastObjective
    >>> a, b = torch.nn.Flatten(0), torch.nn.Flatten(0)
    >>> float(ContrastObjective(a, b)(torch.ones(1)))
    0.0
    """

    def __init__(self, a, b, *, weight_a=1.0, weight_b=1.0):
        super().__init__()
        self.a, self.b = a, b
        self.weight_a, self.weight_b = float(weight_a), float(weight_b)

    def forward(self, images):
        """The contrast of every image.

        Parameters
        ----------
        images : Tensor of shape (batch, 3, height, width)

        Returns
        -------
        scores : Tensor of shape (batch,)
        """
        return self.weight_a * self.a(images) - self.weight_b * self.b(images)


def contrast(a, b, *, weight_a=1.0, weight_b=1.0):
    """An objective that raises ``a`` and lowers ``b``; see :class:`ContrastObjective`.

    Parameters
    ----------
    a, b : torch.nn.Module
    weight_a, weight_b : float, default=1.0

    Returns
    -------
    objective : ContrastObjective

    Examples
    --------
    >>> import torch
    >>> from neuroalign.synthesis import contrast
    >>> objective = contrast(torch.nn.Flatten(0), torch.nn.Flatten(0), weight_b=0.5)
    >>> float(objective(torch.ones(1)))
    0.5
    """
    return ContrastObjective(a, b, weight_a=weight_a, weight_b=weight_b)


def _region_weights(encoder, region):
    labels = getattr(encoder, "regions", None)
    if labels is None:
        raise ValueError(
            f"'region' was given ({region!r}) but the encoder has no region labels; build "
            f"it with fit_image_encoder on responses with a 'region' coordinate, or pass "
            f"ImageEncoder(..., regions=...)."
        )
    labels = np.asarray(labels).astype(str)
    wanted = [region] if isinstance(region, str) else [str(r) for r in region]
    known = sorted(set(labels.tolist()))
    for name in wanted:
        if name not in known:
            raise ValueError(
                f"'region' {name!r} does not exist; the encoder's regions are {known}."
                + close_matches_hint(name, known)
            )
    mask = np.isin(labels, wanted)
    return torch.as_tensor(mask / mask.sum(), dtype=torch.float32), f"region {'+'.join(wanted)}"


def _neuroid_weights(encoder, neuroids):
    neuroids = np.atleast_1d(np.asarray(neuroids))
    if neuroids.size == 0:
        raise ValueError("'neuroids' must select at least one target; got an empty sequence.")
    ids = getattr(encoder, "neuroid_ids", None)
    n_targets = len(ids) if ids is not None else _n_outputs(encoder)
    if np.issubdtype(neuroids.dtype, np.integer):
        bad = neuroids[(neuroids < 0) | (neuroids >= n_targets)]
        if bad.size:
            raise ValueError(
                f"'neuroids' index {int(bad[0])} is out of range for {n_targets} targets."
            )
        index = neuroids
    else:
        if ids is None:
            raise ValueError(
                "'neuroids' are names but the encoder has no neuroid_ids; pass indices."
            )
        lookup = {str(v): i for i, v in enumerate(ids)}
        missing = [str(n) for n in neuroids if str(n) not in lookup]
        if missing:
            raise ValueError(
                f"'neuroids' {missing[0]!r} does not exist among the encoder's "
                f"{len(lookup)} neuroid_ids." + close_matches_hint(missing[0], lookup)
            )
        index = np.array([lookup[str(n)] for n in neuroids])
    weights = np.zeros(n_targets, dtype=np.float32)
    np.add.at(weights, index, 1.0 / len(index))
    return torch.as_tensor(weights), f"{len(index)} neuroids"


def _n_outputs(encoder):
    readout = getattr(encoder, "readout", encoder)
    weight = getattr(readout, "weight", None)
    if weight is None:
        raise ValueError(
            "'neuroids' as indices needs to know the number of targets; give the encoder "
            "'neuroid_ids' (ImageEncoder(..., neuroid_ids=...))."
        )
    return int(weight.shape[0])
