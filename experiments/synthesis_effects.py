"""Measure brain-guided synthesis on the synthetic world, where the brain is known.

For every DDPM weights file, target region, guidance scale and sampling seed: draw
``--n`` images from the same seeds with and without guidance (DDIM), score them with
the simulated subject's TRUE response, and print every region's Cohen's d (guided vs
unguided). For the late (category-tuned) ROI, also count how many images the default
network classifies as the ROI's preferred category (chance: 1/5). The guiding encoder
is the one of ``tests/synthesis``: ridge on the default network's features.

Usage::

    python experiments/synthesis_effects.py [--weights A.safetensors B.safetensors]
        [--regions mid late] [--scales 0.2 0.4] [--seeds 0 1] [--n 16] [--steps 20]
        [--world-seed 0] [--full-world]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler
from torch.nn import functional as F  # noqa: N812

from data_adapters.synthetic import make_world
from neuroalign.models import DEFAULT_DDPM_WEIGHTS, default_ddpm, default_model
from neuroalign.synthesis import (
    BrainObjective,
    FeatureExtractor,
    fit_image_encoder,
    guided_sample,
    region_effects,
)

FEATURE_LAYERS = ("conv2", "conv3", "conv4")
N_CATEGORIES = 5


def preferred_category(world, subject, region):
    """The category whose stimuli drive ``region``'s true mean response most."""
    with torch.no_grad():
        response = subject.respond(torch.from_numpy(world.stimuli.images))
    mean = response[:, subject.regions == region].mean(1).numpy()
    return int(np.argmax([mean[world.stimuli.labels == k].mean() for k in range(N_CATEGORIES)]))


def category_count(network, images, category):
    """How many images the default network classifies as ``category``."""
    with torch.no_grad():
        labels = network(F.interpolate(images, size=64, mode="bilinear")).argmax(1)
    return int((labels == category).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, nargs="+", default=[DEFAULT_DDPM_WEIGHTS])
    parser.add_argument("--regions", nargs="+", default=["mid", "late"])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.2, 0.4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument(
        "--full-world",
        action="store_true",
        help="the full-size world of `neuroalign synthesize` (default: the tests' quick one)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    world = make_world(
        seed=args.world_seed, n_per_category=40, n_subjects=1, quick=not args.full_world
    )
    subject = world.subjects["fmri"]["sub-01"]
    network = default_model()
    extractor = FeatureExtractor(network, FEATURE_LAYERS, image_size=64)
    encoder = fit_image_encoder(extractor, world.stimuli, world.fmri["sub-01"], cv=5)
    late_category = preferred_category(world, subject, "late")
    names = list(dict.fromkeys(np.asarray(subject.regions).astype(str)))
    print(f"late ROI's preferred category: {late_category} (chance {1 / N_CATEGORIES:.2f})")
    header = f"{'weights':28s} {'region':6s} {'scale':>5s} {'seed':>4s} " + " ".join(
        f"{'d_' + name:>8s}" for name in names
    )
    print(header + f" {'cat_guided':>10s} {'cat_unguided':>12s} {'s':>5s}")
    for weights in args.weights:
        pipeline = default_ddpm(weights)
        pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
        for region in args.regions:
            objective = BrainObjective(encoder, region=region)
            for scale in args.scales:
                for seed in args.seeds:
                    start = time.perf_counter()
                    kwargs = {"n": args.n, "steps": args.steps, "seed": seed, "progress": False}
                    guided = guided_sample(pipeline, objective, guidance_scale=scale, **kwargs)
                    unguided = guided_sample(pipeline, objective, guidance_scale=0.0, **kwargs)
                    effects = region_effects(guided, unguided, subject.respond, subject.regions)
                    cells = " ".join(f"{effects.loc[name, 'cohens_d']:8.2f}" for name in names)
                    counts = (
                        category_count(network, guided.images, late_category),
                        category_count(network, unguided.images, late_category),
                    )
                    print(
                        f"{weights.name[:28]:28s} {region:6s} {scale:5.2f} {seed:4d} {cells} "
                        f"{counts[0]:6d}/{args.n:<3d} {counts[1]:8d}/{args.n:<3d} "
                        f"{time.perf_counter() - start:5.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
