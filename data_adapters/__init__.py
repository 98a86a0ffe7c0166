"""File formats and generators → the neuroalign schema (DESIGN.md §1).

Each adapter module returns ``xarray.DataArray`` objects built with
``neuroalign.data`` constructors: ``activations`` (torch forward hooks on any
``nn.Module``) and ``synthetic`` (the built-in world with known ground truth).
Modules are imported on demand, so importing this package is cheap.
"""
