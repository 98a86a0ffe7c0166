"""Differentiable features of one or several layers of any torch network."""

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from neuroalign._validation import check_option, close_matches_hint
from neuroalign.exceptions import UnknownLayerError

__all__ = ["POOLS", "FeatureExtractor"]

POOLS = ("mean", "max", "flatten")


class FeatureExtractor(nn.Module):
    """Images -> pooled activations of chosen layers, with gradients to the pixels.

    The network runs under forward hooks that keep the requested layers' outputs; the
    outputs are pooled and concatenated in the order of ``layers``. The network's
    parameters are frozen (``requires_grad_(False)``) and it is put in eval mode, so
    gradients flow to the images only.

    Parameters
    ----------
    model : torch.nn.Module
        Takes image batches of shape (batch, 3, image_size, image_size).
    layers : str or sequence of str
        Module names as in ``model.named_modules()``.
    pool : {"mean", "max", "flatten"} or int, default="mean"
        Pooling of spatial outputs (batch, channels, height, width): average or maximum
        over positions, all values, or an ``int`` g for adaptive average pooling to a
        g x g grid (flattened channel-major). Outputs of shape (batch, features) are
        kept as they are. Use the same pooling as for the activations the encoder was
        fitted on (``data_adapters.activations.extract(..., pool=...)``).
    image_size : int, optional
        Images of another size are resampled (bilinear, antialiased) to this size
        before the network sees them; ``None`` passes them unchanged.

    Examples
    --------
    >>> import torch
    >>> from neuroalign.models import default_model
    >>> from neuroalign.synthesis import FeatureExtractor
    >>> extractor = FeatureExtractor(default_model(), ["conv3", "conv4"], image_size=64)
    >>> extractor(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 192])
    """

    def __init__(self, model, layers, *, pool="mean", image_size=None):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"'model' must be a torch.nn.Module; got {type(model).__name__}.")
        layers = [layers] if isinstance(layers, str) else [str(layer) for layer in layers]
        if not layers:
            raise ValueError("'layers' must name at least one layer; got an empty sequence.")
        modules = dict(model.named_modules())
        for layer in layers:
            if layer not in modules:
                raise UnknownLayerError(
                    f"'layers' contains {layer!r}, which is not a module of "
                    f"{type(model).__name__}." + close_matches_hint(layer, modules)
                )
        if not isinstance(pool, int) or isinstance(pool, bool):
            check_option("pool", pool, POOLS)
        elif pool < 1:
            raise ValueError(f"'pool' as a grid size must be at least 1; got {pool}.")
        self.model = model.eval().requires_grad_(False)
        self.layers = tuple(layers)
        self.pool = pool
        self.image_size = None if image_size is None else int(image_size)
        self._modules_by_name = {layer: modules[layer] for layer in layers}

    def forward(self, images):
        """Pooled, concatenated layer activations.

        Parameters
        ----------
        images : Tensor of shape (batch, 3, height, width)
            RGB values in [0, 1].

        Returns
        -------
        features : Tensor of shape (batch, n_features)
        """
        if self.image_size is not None and images.shape[-2:] != (self.image_size,) * 2:
            images = F.interpolate(
                images, size=(self.image_size,) * 2, mode="bilinear", antialias=True
            )
        outputs = {}

        def keep(name):
            def hook(module, inputs, output):
                outputs[name] = output[0] if isinstance(output, (tuple, list)) else output

            return hook

        handles = [
            module.register_forward_hook(keep(name))
            for name, module in self._modules_by_name.items()
        ]
        try:
            self.model(images)
        finally:
            for handle in handles:
                handle.remove()
        return torch.cat([self._pooled(outputs[name]) for name in self.layers], dim=1)

    def _pooled(self, output):
        if output.ndim <= 2:
            return output.reshape(len(output), -1)
        if self.pool == "flatten":
            return output.flatten(1)
        if isinstance(self.pool, int):
            return F.adaptive_avg_pool2d(output, self.pool).flatten(1)
        positions = tuple(range(2, output.ndim))
        return output.mean(positions) if self.pool == "mean" else output.amax(positions)
