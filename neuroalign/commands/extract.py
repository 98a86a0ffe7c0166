"""``neuroalign extract``: a network's activations to a stimulus set, saved as zarr."""

from pathlib import Path

from neuroalign.commands._arguments import positive_int

NAME = "extract"
HELP = "save a network's layer activations to a stimulus set (zarr)"
DESCRIPTION = (
    "Run a network over stimuli once and save the activations of its layers in one zarr "
    "store, in the neuroalign schema; experiments use it as a model's 'activations'. Stimuli "
    "come from an adapter (e.g. --adapter synthetic --option kind=stimuli) or from a file: "
    ".npy (n_stimuli, channels, height, width) or .npz with 'images' and 'stimulus_ids'."
)


def _option(text):
    import argparse

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must look like KEY=VALUE; got {text!r}")
    return key, value


def add_arguments(parser):
    """Add the options of ``extract``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    stimuli = parser.add_mutually_exclusive_group(required=True)
    stimuli.add_argument("--adapter", help="adapter that returns the stimulus images")
    stimuli.add_argument("--images", type=Path, help=".npy or .npz file of images")
    parser.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="adapter option (repeatable; values are read as YAML, e.g. quick=true)",
    )
    parser.add_argument("--out", type=Path, required=True, help="zarr store to write")
    parser.add_argument(
        "--network", choices=("default",), default="default", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--layers", default=None, help="comma-separated layer names (default: all of the network)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="stimuli per forward pass (default: %(default)s)",
    )
    parser.add_argument(
        "--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default: %(default)s)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _images(args):
    import numpy as np
    import yaml

    if args.images is not None:
        if not args.images.is_file():
            raise FileNotFoundError(f"--images: no file at {str(args.images)!r}.")
        if args.option:
            raise ValueError("--option goes with --adapter, not with --images.")
        loaded = np.load(args.images)
        if args.images.suffix == ".npz":
            if "images" not in loaded:
                raise ValueError(
                    f"--images {args.images}: expected an array named 'images'; found "
                    f"{', '.join(loaded.files)}."
                )
            ids = loaded.get("stimulus_ids")
            return loaded["images"], ids
        return loaded, None
    from neuroalign.experiment import get_adapter

    options = {key: yaml.safe_load(value) for key, value in args.option}
    data = get_adapter(args.adapter)(**options)
    if not hasattr(data, "stimulus_id"):
        raise ValueError(
            f"--adapter {args.adapter} returned {type(data).__name__}, not images with a "
            "stimulus_id coordinate; choose the adapter's stimulus kind (e.g. --option "
            "kind=stimuli)."
        )
    return np.asarray(data.values), np.asarray(data.stimulus_id.values)


def run(args):
    """Extract and save the activations.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"--out {args.out} exists; pass --overwrite to replace it.")
    from data_adapters.activations import extract
    from neuroalign._backend import resolve_device
    from neuroalign.data import save
    from neuroalign.models import DEFAULT_LAYERS, default_model

    layers = args.layers.split(",") if args.layers else list(DEFAULT_LAYERS)
    images, ids = _images(args)
    device = resolve_device(args.device)
    activations = extract(
        default_model(device=device),
        images,
        layers,
        stimulus_ids=ids,
        batch_size=args.batch_size,
        device=device,
        model_name=args.network,
    )
    save(activations, args.out, overwrite=True)
    print(f"Activations of {len(layers)} layers for {len(images)} stimuli written to {args.out}")
    return 0
