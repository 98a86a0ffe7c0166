"""Fitted encoders as differentiable torch modules."""

import torch
from torch import nn

__all__ = ["LinearEncoderModule"]


class LinearEncoderModule(nn.Module):
    """``y = x @ weight.T + bias``: a fitted linear encoder, differentiable in its input.

    The fitted values are buffers, not parameters: gradients flow to the input (e.g. an
    image through a feature extractor), never into the encoder.

    Parameters
    ----------
    weight : Tensor of shape (n_targets, n_features)
    bias : Tensor of shape (n_targets,)
    """

    def __init__(self, weight, bias):
        super().__init__()
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32).clone())
        self.register_buffer("bias", torch.as_tensor(bias, dtype=torch.float32).clone())

    def forward(self, features):
        """Predicted responses.

        Parameters
        ----------
        features : Tensor of shape (batch, n_features)

        Returns
        -------
        responses : Tensor of shape (batch, n_targets)
        """
        return torch.nn.functional.linear(features, self.weight, self.bias)
