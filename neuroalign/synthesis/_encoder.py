"""Image-computable encoding models: a feature extractor followed by a fitted encoder."""

import numpy as np
import torch
from torch import nn

from neuroalign._backend import resolve_device
from neuroalign.exceptions import DimensionError, NotFittedError

__all__ = ["ImageEncoder", "fit_image_encoder"]


class ImageEncoder(nn.Module):
    """Images -> predicted responses of every target (voxel, channel, unit).

    Parameters
    ----------
    extractor : FeatureExtractor or torch.nn.Module
        Maps images (batch, 3, height, width) in [0, 1] to features (batch, n_features).
    encoder : fitted RidgeEncoder (or any estimator with ``to_torch()``) or torch.nn.Module
        Maps features to responses (batch, n_targets); a fitted scikit-learn style
        encoder is exported with its ``to_torch()``.
    regions : sequence of str of shape (n_targets,), optional
        ROI label of every target, for objectives over regions.
    neuroid_ids : sequence of shape (n_targets,), optional
        Identifier of every target, for objectives over named targets.

    Raises
    ------
    NotFittedError
        If ``encoder`` has not been fitted.
    DimensionError
        If ``regions`` or ``neuroid_ids`` do not have one entry per target.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neuroalign.encoding import RidgeEncoder
    >>> from neuroalign.synthesis import ImageEncoder
    >>> extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((30, 5)), rng.standard_normal((30, 3))
    >>> ridge = RidgeEncoder(device="cpu").fit(X, Y)
    >>> encoder = ImageEncoder(extractor, ridge, regions=["a", "a", "b"])
    >>> encoder(torch.rand(4, 3, 2, 2)).shape
    torch.Size([4, 3])
    """

    def __init__(self, extractor, encoder, *, regions=None, neuroid_ids=None):
        super().__init__()
        if not isinstance(extractor, nn.Module):
            raise TypeError(
                f"'extractor' must be a torch.nn.Module (e.g. a FeatureExtractor); "
                f"got {type(extractor).__name__}."
            )
        self.extractor = extractor
        self.readout = _as_module(encoder)
        self.readout.requires_grad_(False)
        n_targets = _n_targets(self.readout)
        self.regions = _per_target("regions", regions, n_targets)
        self.neuroid_ids = _per_target("neuroid_ids", neuroid_ids, n_targets)

    def forward(self, images):
        """Predicted responses.

        Parameters
        ----------
        images : Tensor of shape (batch, 3, height, width)
            RGB values in [0, 1].

        Returns
        -------
        responses : Tensor of shape (batch, n_targets)
        """
        responses = self.readout(self.extractor(images))
        return responses.reshape(len(images), -1)


def fit_image_encoder(
    extractor,
    images,
    responses,
    *,
    stimulus_ids=None,
    alphas=None,
    cv=5,
    batch_size=64,
    device="cpu",
):
    """Fit a ridge encoder from a feature extractor's features of the stimuli to responses.

    Responses are averaged over repetitions and matched to the images on
    ``stimulus_id``; features are computed without gradients in batches; a
    :class:`~neuroalign.encoding.RidgeEncoder` chooses each target's alpha by
    cross-validation.

    Parameters
    ----------
    extractor : FeatureExtractor or torch.nn.Module
    images : array-like of shape (n_stimuli, 3, height, width)
        RGB values in [0, 1].
    responses : xarray.DataArray of dims (presentation, neuroid)
        A recording in the neuroalign schema; its ``region`` and ``neuroid_id``
        coordinates label the targets of the returned encoder.
    stimulus_ids : sequence of length n_stimuli, optional
        Identifier of every image; default ``images.stimulus_ids`` when ``images`` is a
        stimulus set (an object with ``images`` and ``stimulus_ids``).
    alphas : sequence of float, optional
        Ridge strengths; default :data:`neuroalign.encoding.DEFAULT_ALPHAS`.
    cv : int, default=5
    batch_size : int, default=64
    device : str or torch.device, default="cpu"

    Returns
    -------
    encoder : ImageEncoder
        On ``device``; ``encoder.readout`` holds the fitted weights and
        ``encoder.ridge`` the fitted :class:`~neuroalign.encoding.RidgeEncoder`.

    Raises
    ------
    DimensionError
        If ``stimulus_ids`` does not have one entry per image.
    neuroalign.exceptions.EmptyOverlapError
        If no image is in ``responses``.

    See Also
    --------
    BrainObjective : turn the encoder into a synthesis objective.
    """
    from neuroalign.data import activations, align, average_repetitions
    from neuroalign.encoding import DEFAULT_ALPHAS, RidgeEncoder

    if stimulus_ids is None and hasattr(images, "stimulus_ids"):
        stimulus_ids = images.stimulus_ids
    images = images.images if hasattr(images, "images") else images
    images = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    if stimulus_ids is None:
        raise ValueError(
            "'stimulus_ids' is needed to match images to responses; pass one id per image."
        )
    stimulus_ids = np.asarray(stimulus_ids)
    if len(stimulus_ids) != len(images):
        raise DimensionError(
            f"'stimulus_ids' must have one entry per image ({len(images)}); "
            f"got {len(stimulus_ids)}."
        )
    device = resolve_device(device)
    extractor = extractor.to(device)
    with torch.no_grad():
        features = torch.cat(
            [extractor(batch.to(device)).cpu() for batch in images.split(batch_size)]
        ).numpy()
    layer = activations(features, stimulus_ids, model="extractor", layer="features")
    brain = average_repetitions(responses) if "repetition" in responses.coords else responses
    brain, layer = align(brain, layer)
    ridge = RidgeEncoder(DEFAULT_ALPHAS if alphas is None else alphas, cv=cv, device=device).fit(
        layer.values, brain.values
    )
    encoder = ImageEncoder(
        extractor,
        ridge,
        regions=brain["region"].values if "region" in brain.coords else None,
        neuroid_ids=brain["neuroid_id"].values,
    )
    encoder.ridge = ridge
    return encoder.to(device)


def _as_module(encoder):
    if isinstance(encoder, nn.Module):
        return encoder
    if not hasattr(encoder, "to_torch"):
        raise TypeError(
            f"'encoder' must be a fitted encoder with to_torch() (e.g. RidgeEncoder) or a "
            f"torch.nn.Module; got {type(encoder).__name__}."
        )
    try:
        return encoder.to_torch()
    except NotFittedError as err:
        raise NotFittedError(
            f"'encoder' ({type(encoder).__name__}) is not fitted; fit it on features and "
            f"responses first (e.g. with fit_image_encoder)."
        ) from err


def _n_targets(readout):
    weight = getattr(readout, "weight", None)
    return None if weight is None else int(weight.shape[0])


def _per_target(name, values, n_targets):
    if values is None:
        return None
    values = np.asarray(values)
    if values.ndim != 1 or (n_targets is not None and len(values) != n_targets):
        raise DimensionError(
            f"'{name}' must have one entry per encoder target ({n_targets}); "
            f"got shape {values.shape}."
        )
    return values
