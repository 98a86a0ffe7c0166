"""Figures: layer profiles, brain maps, RDMs, time courses, topomaps, model comparisons
and synthesis grids.

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show()``; :func:`save_figure` writes one into a results folder for
``neuroalign report``. nilearn (brain maps) and MNE (topomaps) are imported only
by the functions that need them.
"""

from neuroalign.plotting._brain import plot_best_layer_map, plot_brain_map, plot_surface_map
from neuroalign.plotting._comparison import plot_model_comparison
from neuroalign.plotting._profile import plot_layer_profile
from neuroalign.plotting._rdm import plot_mds, plot_rdm
from neuroalign.plotting._save import FIGURE_DPI, save_figure
from neuroalign.plotting._time import plot_generalization_matrix, plot_time_course
from neuroalign.plotting._topomap import plot_topomap
from neuroalign.plotting.synthesis import plot_synthesis_grid

__all__ = [
    "FIGURE_DPI",
    "plot_best_layer_map",
    "plot_brain_map",
    "plot_generalization_matrix",
    "plot_layer_profile",
    "plot_mds",
    "plot_model_comparison",
    "plot_rdm",
    "plot_surface_map",
    "plot_synthesis_grid",
    "plot_time_course",
    "plot_topomap",
    "save_figure",
]
