"""Controversial stimuli: images on which two encoders (models, subjects) disagree most."""

import dataclasses

import torch

from neuroalign._validation import check_option
from neuroalign.synthesis._activation_max import maximize_activation
from neuroalign.synthesis._guidance import guided_sample
from neuroalign.synthesis._objective import contrast

__all__ = ["ControversialResult", "controversial_stimuli"]

METHODS = ("diffusion", "pixel")


@dataclasses.dataclass(frozen=True)
class ControversialResult:
    """Images that drive ``a`` above ``b`` and images that drive ``b`` above ``a``.

    Attributes
    ----------
    a_over_b, b_over_a : SynthesisResult
        Their ``scores`` are the contrasts ``a - b`` and ``b - a``.
    scores : dict of str to dict of str to Tensor
        ``scores[direction][objective]``: the score of ``"a"`` and of ``"b"`` on the
        images of each direction (``"a_over_b"``, ``"b_over_a"``), shape (n,).
    """

    a_over_b: object
    b_over_a: object
    scores: dict

    def disagreement(self):
        """How far apart the two objectives are on each direction's images.

        Returns
        -------
        dict of str to Tensor of shape (n,)
            ``a - b`` on the ``a_over_b`` images and ``b - a`` on the ``b_over_a`` images.
        """
        return {
            "a_over_b": self.scores["a_over_b"]["a"] - self.scores["a_over_b"]["b"],
            "b_over_a": self.scores["b_over_a"]["b"] - self.scores["b_over_a"]["a"],
        }


def controversial_stimuli(objective_a, objective_b, *, pipeline=None, method=None, **kwargs):
    """Synthesise images that one objective rates high and the other low, both ways.

    With two encoders of the same region fitted on two subjects (or on two networks'
    features), the images show where they disagree: stimuli that tell the models apart
    in a new experiment.

    Parameters
    ----------
    objective_a, objective_b : torch.nn.Module
        Images (batch, 3, height, width) in [0, 1] -> scores (batch,), on one device.
    pipeline : diffusers pipeline, optional
        Needed for ``method="diffusion"``.
    method : {"diffusion", "pixel"}, optional
        :func:`guided_sample` with ``pipeline`` or :func:`maximize_activation`; default
        ``"diffusion"`` when a pipeline is given, else ``"pixel"``.
    **kwargs
        Passed to :func:`guided_sample` or :func:`maximize_activation` (``n``,
        ``steps``, ``seed``, ...); both directions use the same seeds.

    Returns
    -------
    result : ControversialResult

    Raises
    ------
    ValueError
        If ``method="diffusion"`` without a pipeline.

    Examples
    --------
    >>> from neuroalign.synthesis import controversial_stimuli
    >>> red = lambda images: images[:, 0].mean(dim=(1, 2))
    >>> green = lambda images: images[:, 1].mean(dim=(1, 2))
    >>> result = controversial_stimuli(red, green, n=1, image_size=16, steps=50, progress=False)
    >>> bool((result.disagreement()["a_over_b"] > 0).all())
    True
    """
    method = ("diffusion" if pipeline is not None else "pixel") if method is None else method
    check_option("method", method, METHODS)
    if method == "diffusion" and pipeline is None:
        raise ValueError("method='diffusion' needs a 'pipeline' (e.g. default_ddpm()).")

    def synthesise(objective):
        if method == "diffusion":
            return guided_sample(pipeline, objective, **kwargs)
        return maximize_activation(objective, **kwargs)

    results, scores = {}, {}
    for name, first, second in (
        ("a_over_b", objective_a, objective_b),
        ("b_over_a", objective_b, objective_a),
    ):
        results[name] = synthesise(contrast(first, second))
        images = results[name].images
        with torch.no_grad():
            device = _device_of(objective_a, images)
            scores[name] = {
                label: objective(images.to(device)).float().cpu()
                for label, objective in (("a", objective_a), ("b", objective_b))
            }
    return ControversialResult(results["a_over_b"], results["b_over_a"], scores)


def _device_of(objective, images):
    if isinstance(objective, torch.nn.Module):
        for tensor in (*objective.parameters(), *objective.buffers()):
            return tensor.device
    return images.device
