"""``neuroalign synthesize``: brain-guided images for a region of the synthetic world."""

import argparse
from pathlib import Path

from neuroalign.commands._arguments import positive_int

NAME = "synthesize"
HELP = "synthesise images that drive a brain region (brain-guided diffusion)"
DESCRIPTION = (
    "Fit an encoder from the default network's features to a simulated subject's fMRI, "
    "then sample the default DDPM with and without guidance toward a region from the "
    "same seeds. Writes a figure, the images and a summary with the true (simulated) "
    "activations."
)
SCHEDULERS = {
    "ddpm": "DDPMScheduler",
    "ddim": "DDIMScheduler",
    "dpm": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
}
FEATURE_LAYERS = ("conv2", "conv3", "conv4")
# Default guidance and recurrence per region, measured with experiments/synthesis_effects.py:
# with one pass the category-tuned late ROI falls behind the early and mid ones; at 0.4 with
# every step taken three times it rises by d > 0.2 in all four measured worlds (see
# tests/synthesis/test_world.py).
DEFAULT_SETTINGS = {"late": {"guidance": 0.4, "recurrence": 3}}
FALLBACK_SETTINGS = {"guidance": 0.4, "recurrence": 1}


def non_negative_float(text):
    """An argparse type for floats of at least 0.

    Parameters
    ----------
    text : str

    Returns
    -------
    value : float

    Examples
    --------
    >>> non_negative_float("2.5")
    2.5
    """
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0; got {text}")
    return value


def add_arguments(parser):
    """Add the synthesis options.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("--region", default="mid", help="target ROI (default: %(default)s)")
    parser.add_argument(
        "--subject", default="sub-01", help="simulated fMRI subject (default: %(default)s)"
    )
    parser.add_argument(
        "--n", type=positive_int, default=16, help="images per condition (default: %(default)s)"
    )
    parser.add_argument(
        "--steps", type=positive_int, default=50, help="scheduler steps (default: %(default)s)"
    )
    parser.add_argument(
        "--scheduler",
        choices=sorted(SCHEDULERS),
        default="ddim",
        help="diffusers scheduler (default: %(default)s)",
    )
    parser.add_argument(
        "--guidance",
        type=non_negative_float,
        default=None,
        help=f"guidance scale; 0 samples without guidance (default: "
        f"{DEFAULT_SETTINGS['late']['guidance']} for the late ROI, "
        f"{FALLBACK_SETTINGS['guidance']} otherwise)",
    )
    parser.add_argument(
        "--recurrence",
        type=positive_int,
        default=None,
        help="times every step is taken, re-noising in between (guided and unguided alike; "
        f"default: {DEFAULT_SETTINGS['late']['recurrence']} for the late ROI, "
        f"{FALLBACK_SETTINGS['recurrence']} otherwise)",
    )
    parser.add_argument(
        "--exact-gradient",
        action="store_true",
        help="back-propagate through the UNet (slower; default: gradient of the predicted "
        "clean image only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/synthesis"),
        help="output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smaller world, 8 images and 20 steps, for a check in a couple of minutes",
    )
    parser.add_argument(
        "--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=8, help="images per batch (default: %(default)s)"
    )


def run(args):
    """Fit the encoder, sample guided and unguided images, write and summarise them.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    import json

    import diffusers
    import numpy as np
    import torch

    from data_adapters.synthetic import make_world
    from neuroalign._backend import resolve_device
    from neuroalign._validation import check_option
    from neuroalign.models import default_ddpm, default_model
    from neuroalign.plotting.synthesis import plot_synthesis_grid
    from neuroalign.synthesis import (
        BrainObjective,
        FeatureExtractor,
        fit_image_encoder,
        guided_sample,
        region_effects,
    )

    n, steps = (min(args.n, 8), min(args.steps, 20)) if args.quick else (args.n, args.steps)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    world = make_world(seed=args.seed, n_per_category=40 if args.quick else 100, n_subjects=1)
    check_option("--subject", args.subject, sorted(world.fmri))
    responses = world.fmri[args.subject]
    regions = sorted(set(responses["region"].values.tolist()))
    check_option("--region", args.region, regions)
    network = default_model(device=device)
    extractor = FeatureExtractor(network, FEATURE_LAYERS, image_size=64)
    encoder = fit_image_encoder(extractor, world.stimuli, responses, device=device)
    objective = BrainObjective(encoder, region=args.region)
    pipeline = default_ddpm(device=device)
    scheduler_class = getattr(diffusers, SCHEDULERS[args.scheduler])
    pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
    common = {
        "n": n,
        "steps": steps,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "through_unet": args.exact_gradient,
    }
    defaults = DEFAULT_SETTINGS.get(args.region, FALLBACK_SETTINGS)
    scale = defaults["guidance"] if args.guidance is None else args.guidance
    common["recurrence"] = defaults["recurrence"] if args.recurrence is None else args.recurrence
    guided = guided_sample(pipeline, objective, guidance_scale=scale, **common)
    unguided = guided_sample(pipeline, objective, guidance_scale=0.0, **common)
    subject = world.subjects["fmri"][args.subject].to(device)

    def respond(images):
        return subject.respond(images.to(device))

    effects = region_effects(guided, unguided, respond, subject.regions)
    with torch.no_grad():
        true = {
            name: respond(result.images)[:, subject.regions == args.region].mean(1).cpu().numpy()
            for name, result in (("guided", guided), ("unguided", unguided))
        }
        categories = {
            name: np.bincount(
                network(_resize(result.images.to(device))).argmax(1).cpu().numpy(),
                minlength=len(network.categories),
            ).tolist()
            for name, result in (("guided", guided), ("unguided", unguided))
        }
    args.out.mkdir(parents=True, exist_ok=True)
    figure = plot_synthesis_grid(
        guided,
        unguided,
        true_scores=true,
        title=f"{args.subject} {args.region}: guided (scale {scale:g}) vs unguided",
    )
    figure.savefig(args.out / "synthesis.png", dpi=120)
    np.savez_compressed(
        args.out / "samples.npz",
        guided=guided.images.numpy(),
        unguided=unguided.images.numpy(),
        guided_predicted=guided.scores.numpy(),
        unguided_predicted=unguided.scores.numpy(),
        guided_true=true["guided"],
        unguided_true=true["unguided"],
    )
    summary = {
        "region": args.region,
        "subject": args.subject,
        "settings": guided.settings,
        "n": n,
        "true_effects": effects.reset_index().to_dict(orient="records"),
        "categories": list(network.categories),
        "category_counts": categories,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    print(f"Region {args.region!r} of {args.subject}, {n} images per condition, {steps} steps:")
    print(effects.round(3).to_string())
    for name, counts in categories.items():
        print(
            f"{name} categories: "
            + ", ".join(f"{c}={k}" for c, k in zip(network.categories, counts))
        )
    print(f"Wrote {args.out / 'synthesis.png'}, samples.npz and summary.json")
    return 0


def _resize(images):
    from torch.nn import functional as F  # noqa: N812

    return F.interpolate(images, size=(64, 64), mode="bilinear", antialias=True)
