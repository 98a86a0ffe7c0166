"""File formats and generators → the neuroalign schema (DESIGN.md §1).

Each adapter returns ``xarray.DataArray`` objects built with the ``neuroalign.data``
constructors:

- ``fmri`` (nibabel/nilearn): beta maps, BOLD runs → single-trial betas (LSA/LSS),
  masks and atlases, GIfTI surfaces; ``to_nifti`` / ``to_surface`` write scores back;
- ``eeg`` (MNE): any raw file MNE reads, Epochs objects, EEG-Notebooks CSV → epochs;
- ``spikes`` (pynwb): NWB units and trials, or spike-time arrays → binned counts/rates;
- ``bids``: find and load the fMRI, EEG/MEG and NWB data of a BIDS folder;
- ``activations``: torch forward hooks on any ``nn.Module``, with an on-disk cache
  (``cache``) and on-the-fly dimensionality reduction (``reduce``);
- ``zoo``: transformers / torchvision / timm / open_clip models, and word-pooled
  activations of language models;
- ``synthetic``: the built-in world with known ground truth, and ``synthetic_files``
  to write it as real NIfTI, EDF/FIF and NWB files.

The loaders are registered in the entry-point group ``neuroalign.adapters`` (see
``pyproject.toml``), which is how ``neuroalign run`` finds them by name; a lab's own
package can register its loaders the same way. Modules are imported on demand, so
importing this package is cheap.
"""
