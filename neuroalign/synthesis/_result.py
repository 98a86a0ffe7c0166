"""What a synthesis run returns."""

import dataclasses

import torch

__all__ = ["SynthesisResult"]


@dataclasses.dataclass(frozen=True)
class SynthesisResult:
    """Synthesised images with the objective's score of each.

    Attributes
    ----------
    images : Tensor of shape (n_images, 3, height, width)
        RGB values in [0, 1], float32, on the CPU.
    scores : Tensor of shape (n_images,)
        The objective (e.g. predicted mean activation of the target region) of every
        image, float32, on the CPU.
    seeds : Tensor of int64 of shape (n_images,)
        Index of every image's starting noise in the seeded stream (unchanged by
        :meth:`rerank`), so guided and unguided images can be paired.
    settings : dict
        The run's settings (method, steps, scheduler, guidance scale, seed...).
    """

    images: torch.Tensor
    scores: torch.Tensor
    seeds: torch.Tensor
    settings: dict = dataclasses.field(default_factory=dict)

    def __len__(self):
        return len(self.images)

    def rerank(self, top=None):
        """Images sorted by decreasing score, optionally only the best ``top``.

        Parameters
        ----------
        top : int, optional

        Returns
        -------
        result : SynthesisResult

        Examples
        --------
        >>> import torch
        >>> from neuroalign.synthesis import SynthesisResult
        >>> result = SynthesisResult(torch.zeros(3, 3, 2, 2), torch.tensor([0.1, 0.9, 0.5]),
        ...                          torch.arange(3))
        >>> result.rerank(top=2).seeds.tolist()
        [1, 2]
        """
        order = torch.argsort(self.scores, descending=True, stable=True)
        if top is not None:
            if int(top) < 1:
                raise ValueError(f"'top' must be a positive integer; got {top}.")
            order = order[: int(top)]
        return dataclasses.replace(
            self, images=self.images[order], scores=self.scores[order], seeds=self.seeds[order]
        )
