"""Brain-guided image synthesis.

Build a differentiable model of a brain area from any network's features and a fitted
encoder (:class:`FeatureExtractor`, :class:`ImageEncoder`, :func:`fit_image_encoder`),
turn it into an objective (:class:`BrainObjective`, :func:`contrast`) and synthesise
images that raise it: guided diffusion with any diffusers pipeline and scheduler
(:func:`guided_sample`, BrainDiVE-style), activation maximisation in pixel space
(:func:`maximize_activation`), or controversial stimuli on which two encoders disagree
(:func:`controversial_stimuli`). The default generator is
:func:`neuroalign.models.default_ddpm`.
"""

from neuroalign.synthesis._activation_max import PARAMETERIZATIONS, maximize_activation
from neuroalign.synthesis._controversial import ControversialResult, controversial_stimuli
from neuroalign.synthesis._encoder import ImageEncoder, fit_image_encoder
from neuroalign.synthesis._evaluate import cohens_d, region_effects
from neuroalign.synthesis._features import POOLS, FeatureExtractor
from neuroalign.synthesis._guidance import guided_sample
from neuroalign.synthesis._objective import BrainObjective, ContrastObjective, contrast
from neuroalign.synthesis._result import SynthesisResult

__all__ = [
    "PARAMETERIZATIONS",
    "POOLS",
    "BrainObjective",
    "ContrastObjective",
    "ControversialResult",
    "FeatureExtractor",
    "ImageEncoder",
    "SynthesisResult",
    "cohens_d",
    "contrast",
    "controversial_stimuli",
    "fit_image_encoder",
    "guided_sample",
    "maximize_activation",
    "region_effects",
]
