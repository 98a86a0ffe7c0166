"""Fitted encoders as differentiable torch modules."""

import torch
from torch import nn

from neuroalign.encoding._delays import make_delays

__all__ = ["LaggedEncoderModule", "LinearEncoderModule"]


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


class LaggedEncoderModule(nn.Module):
    """A fitted temporal receptive field: delays the input, then a linear readout.

    Parameters
    ----------
    weight : Tensor of shape (n_outputs, n_features * n_delays)
        Feature-major columns, as produced by :func:`~neuroalign.encoding.make_delays`.
    bias : Tensor of shape (n_outputs,)
    delays : sequence of int of shape (n_delays,)
        Delays in samples (positive: the output lags the input).
    """

    def __init__(self, weight, bias, delays):
        super().__init__()
        self.readout = LinearEncoderModule(weight, bias)
        self.delays = [int(d) for d in delays]

    def forward(self, features):
        """Predicted responses over time.

        Parameters
        ----------
        features : Tensor of shape (n_epochs, n_times, n_features)

        Returns
        -------
        responses : Tensor of shape (n_epochs, n_times, n_outputs)
        """
        return self.readout(make_delays(features, self.delays))
