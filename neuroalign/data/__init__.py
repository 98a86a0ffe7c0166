"""The labelled data model: every source is a response matrix over stimuli.

See DESIGN.md §1. Objects are ``xarray.DataArray`` with dims
``("presentation", "neuroid"[, "time"])``.
"""

from neuroalign.data._align import Aligned, align
from neuroalign.data._io import load, save
from neuroalign.data._repetitions import Halves, average_repetitions, split_halves
from neuroalign.data._schema import MODALITIES, activations, responses, validate
from neuroalign.data._select import select_region

__all__ = [
    "MODALITIES",
    "Aligned",
    "Halves",
    "activations",
    "align",
    "average_repetitions",
    "load",
    "responses",
    "save",
    "select_region",
    "split_halves",
    "validate",
]
