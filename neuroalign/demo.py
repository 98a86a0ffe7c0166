"""``neuroalign demo``: the synthetic study end to end.

For now the demo generates the synthetic world, extracts the default network's
activations and saves them next to the simulated recordings; the analyses plug in
here as they land.
"""

import dataclasses
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import xarray as xr

from neuroalign._info import CORE_PACKAGES, package_version
from neuroalign._version import __version__
from neuroalign.data import save

__all__ = ["DemoResult", "run_demo"]

logger = logging.getLogger("neuroalign")

MODEL_NAME = "default_convnet"


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    files : list of pathlib.Path
        Every file or store written, relative to ``out``.
    seconds : dict of str to float
        Wall time of each step.
    """

    out: Path
    files: list
    seconds: dict


def _stimulus_dataset(stimuli):
    """Images and their generating parameters as one labelled Dataset."""
    metadata = stimuli.metadata.reset_index(drop=True)
    coords = {name: ("presentation", metadata[name].to_numpy()) for name in metadata.columns}
    coords["channel"] = ["red", "green", "blue"]
    images = xr.DataArray(
        stimuli.images, dims=("presentation", "channel", "y", "x"), coords=coords, name="images"
    )
    return images.to_dataset().assign_attrs(categories=json.dumps(list(stimuli.categories)))


def _check_out(out, overwrite):
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{str(out)!r} already holds results; pass --overwrite (overwrite=True) to replace "
            "them, or choose another --out."
        )
    out.mkdir(parents=True, exist_ok=True)


def _manifest(*, seed, quick, device, files, seconds, truth):
    return {
        "neuroalign": __version__,
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in CORE_PACKAGES},
        "seed": seed,
        "quick": quick,
        "device": str(device),
        "files": [str(f) for f in files],
        "seconds": seconds,
        "ground_truth": truth,
    }


def run_demo(out, *, quick=False, seed=0, device="auto", batch_size=64, overwrite=False):
    """Generate the synthetic world, extract the default model's activations, save both.

    Parameters
    ----------
    out : str or path-like
        Output folder; created if needed.
    quick : bool, default=False
        A smaller world (a check that runs in well under 2 minutes on 2 CPU cores).
    seed : int, default=0
        Seed of the world.
    device : str or torch.device, default="auto"
        Where the network runs.
    batch_size : int, default=64
        Stimuli per forward pass.
    overwrite : bool, default=False
        Replace results already in ``out``.

    Returns
    -------
    result : DemoResult

    Raises
    ------
    FileExistsError
        If ``out`` already holds files and ``overwrite`` is False.
    """
    from data_adapters import synthetic
    from data_adapters.activations import extract
    from neuroalign._backend import resolve_device
    from neuroalign.models import DEFAULT_LAYERS, default_model

    out = Path(out)
    _check_out(out, overwrite)
    device = resolve_device(device)
    seconds, files = {}, []

    def write(data, relative):
        files.append(save(data, out / relative, overwrite=True).relative_to(out))

    start = time.perf_counter()
    world = synthetic.make_world(seed=seed, quick=quick)
    seconds["world"] = time.perf_counter() - start

    start = time.perf_counter()
    stimuli_path = out / "stimuli.nc"
    _stimulus_dataset(world.stimuli).to_netcdf(stimuli_path, engine="h5netcdf")
    files.append(stimuli_path.relative_to(out))
    for subject, recording in world.fmri.items():
        write(recording, f"recordings/fmri_{subject}.nc")
    for name in ("eeg", "meg", "spikes"):
        write(getattr(world, name), f"recordings/{name}.nc")
    seconds["save_recordings"] = time.perf_counter() - start

    start = time.perf_counter()
    layers = extract(
        default_model(device=device),
        world.stimuli,
        DEFAULT_LAYERS,
        batch_size=batch_size,
        device=device,
        model_name=MODEL_NAME,
    )
    seconds["extract"] = time.perf_counter() - start
    write(layers, f"activations/{MODEL_NAME}.zarr")

    manifest = _manifest(
        seed=seed,
        quick=quick,
        device=device,
        files=files,
        seconds={k: round(v, 3) for k, v in seconds.items()},
        truth=world.truth.to_dict(),
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default))
    files.append(Path("manifest.json"))
    logger.info("demo finished in %.1f s", sum(seconds.values()))
    return DemoResult(out=out, files=files, seconds=seconds)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot encode {type(value).__name__} in the manifest.")
