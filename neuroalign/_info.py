"""What ``neuroalign info`` prints: versions, devices and installed extras."""

import importlib.metadata
import platform

from neuroalign._version import __version__

__all__ = ["format_info", "installed_extras", "package_version"]

CORE_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "torch",
    "scikit-learn",
    "matplotlib",
    "pydantic",
    "zarr",
    "h5netcdf",
    "safetensors",
)
# The distribution that tells whether each extra is installed.
EXTRAS = {
    "fmri": ("nibabel", "nilearn"),
    "eeg": ("mne",),
    "spikes": ("pynwb",),
    "rsa": ("rsatoolbox",),
    "synthesis": ("diffusers",),
    "distributed": ("dask", "distributed"),
    "models": ("transformers",),
    "docs": ("sphinx", "numpydoc", "sphinx-gallery"),
}


def package_version(distribution):
    """Installed version of a distribution, or None when it is not installed.

    Parameters
    ----------
    distribution : str

    Returns
    -------
    version : str or None
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_extras():
    """Which optional extras have all their packages installed.

    Returns
    -------
    extras : dict of str to bool
    """
    return {
        extra: all(package_version(d) is not None for d in packages)
        for extra, packages in EXTRAS.items()
    }


def _devices():
    import torch

    lines = [f"cpu: {torch.get_num_threads()} threads"]
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        lines.append(f"cuda:{index}: {props.name}, {props.total_memory / 2**30:.0f} GiB")
    if not torch.cuda.is_available():
        lines.append("cuda: not available")
    return lines


def format_info():
    """The report printed by ``neuroalign info``.

    Returns
    -------
    text : str
    """
    lines = [
        f"neuroalign {__version__}",
        f"python {platform.python_version()} ({platform.platform()})",
    ]
    lines.append("core packages:")
    lines += [f"  {name}: {package_version(name) or 'MISSING'}" for name in CORE_PACKAGES]
    lines.append("optional extras (pip install 'neuroalign[EXTRA]'):")
    for extra, installed in installed_extras().items():
        versions = ", ".join(
            f"{d} {package_version(d)}" for d in EXTRAS[extra] if package_version(d)
        )
        lines.append(f"  {extra}: {'yes (' + versions + ')' if installed else 'no'}")
    lines.append("devices:")
    lines += [f"  {line}" for line in _devices()]
    return "\n".join(lines)
