"""The default network: a small convnet trained on the synthetic world's categories.

Four convolution blocks (3x3 convolution, batch norm, ReLU, 2x2 max pooling) and a
linear classifier on globally averaged features. Input normalisation lives inside
the model, so it takes RGB images in [0, 1] directly.
"""

import json
from pathlib import Path

import torch
from torch import nn

from neuroalign._backend import resolve_device
from neuroalign.models._weights import read_weights

__all__ = ["DEFAULT_LAYERS", "DEFAULT_WEIGHTS", "ConvNet", "default_model"]

DEFAULT_LAYERS = ("conv1", "conv2", "conv3", "conv4", "fc")
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "default_convnet.safetensors"
_WIDTHS = (16, 32, 64, 128)
_TRAINING_SCRIPT = "experiments/train_default_model.py"


class ConvNet(nn.Module):
    """Small image classifier whose blocks are the layers compared with the brain.

    Parameters
    ----------
    categories : sequence of str
        Class names, in the order of the output logits.
    widths : sequence of int, default=(16, 32, 64, 128)
        Channels of the blocks ``conv1``, ``conv2``, ...

    Attributes
    ----------
    categories : tuple of str
    conv1, conv2, conv3, conv4 : torch.nn.Sequential
        Convolution blocks; each halves the resolution (64 -> 32 -> 16 -> 8 -> 4).
    fc : torch.nn.Linear
        Logits of shape (n_images, n_categories) from the averaged ``conv4`` output.

    Examples
    --------
    >>> import torch
    >>> from neuroalign.models import ConvNet
    >>> ConvNet(["a", "b"])(torch.rand(3, 3, 64, 64)).shape
    torch.Size([3, 2])
    """

    def __init__(self, categories, *, widths=_WIDTHS):
        super().__init__()
        self.categories = tuple(str(c) for c in categories)
        if len(self.categories) < 2:
            raise ValueError(
                f"'categories' must name at least 2 classes; got {list(self.categories)}."
            )
        self.register_buffer("input_mean", torch.full((1, 3, 1, 1), 0.5))
        self.register_buffer("input_std", torch.full((1, 3, 1, 1), 0.25))
        channels = (3, *widths)
        for index, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:]), start=1):
            self.add_module(f"conv{index}", _block(c_in, c_out))
        self.n_blocks = len(widths)
        self.fc = nn.Linear(channels[-1], len(self.categories))

    def forward(self, images):
        """Category logits.

        Parameters
        ----------
        images : Tensor of shape (n_images, 3, height, width)
            RGB values in [0, 1] (the model was trained at 64 x 64).

        Returns
        -------
        logits : Tensor of shape (n_images, n_categories)
        """
        x = (images - self.input_mean) / self.input_std
        for index in range(1, self.n_blocks + 1):
            x = getattr(self, f"conv{index}")(x)
        return self.fc(x.mean(dim=(2, 3)))


def _block(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def default_model(weights=None, *, device="cpu"):
    """The project's default network with its shipped (or given) weights, in eval mode.

    Parameters
    ----------
    weights : str or path-like, optional
        A safetensors file written by ``experiments/train_default_model.py``; default:
        the weights shipped in ``neuroalign/models/weights/default_convnet.safetensors``.
    device : {"cpu", "cuda", "cuda:N", "auto"} or torch.device, default="cpu"

    Returns
    -------
    model : ConvNet
        In eval mode; ``model.categories`` names the outputs; hook the layers in
        :data:`DEFAULT_LAYERS` (shallow to deep) to compare it with the brain.

    Raises
    ------
    FileNotFoundError
        If the weights file does not exist.
    ValueError
        If the file is not a readable safetensors file written for this architecture
        (missing, unexpected or mis-shaped tensors, or no ``categories`` metadata).

    See Also
    --------
    data_adapters.activations.extract : collect the layers' activations.

    Examples
    --------
    >>> import torch
    >>> from neuroalign.models import default_model
    >>> model = default_model()
    >>> model(torch.rand(2, 3, 64, 64)).shape, model.training
    (torch.Size([2, 5]), False)
    """
    path, state, metadata = read_weights(
        weights, DEFAULT_WEIGHTS, script=_TRAINING_SCRIPT, required=("categories",)
    )
    model = ConvNet(json.loads(metadata["categories"]))
    _check_state(model.state_dict(), state, path)
    model.load_state_dict(state)
    return model.to(resolve_device(device)).eval()


def _check_state(expected, found, path):
    """Raise a ValueError listing every tensor that does not fit the architecture."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    mismatched = [
        f"{key}: expected {tuple(expected[key].shape)}, got {tuple(found[key].shape)}"
        for key in sorted(set(expected) & set(found))
        if expected[key].shape != found[key].shape
    ]
    problems = [
        f"{label}: {', '.join(items)}"
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", mismatched),
        )
        if items
    ]
    if problems:
        raise ValueError(
            f"'weights' file {str(path)!r} does not match the ConvNet architecture ("
            + "; ".join(problems)
            + f"). Recreate it with `python {_TRAINING_SCRIPT}`."
        )
