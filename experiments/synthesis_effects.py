"""Measure brain-guided synthesis on the synthetic world, where the brain is known.

For every world, DDPM weights file, target region and guidance scale: draw ``--n``
images from each sampling seed with and without guidance, pool the seeds, score the
images with the simulated subject's TRUE response, and print every region's Cohen's d
(guided vs unguided). Also count how many guided and unguided images the default
network classifies as the late ROI's preferred category (the category whose stimuli
drive the late ROI most), with the one-sided binomial p-value of the guided count
against chance (1/5). The guiding encoder is the one of ``tests/synthesis``: ridge on
the default network's features of the world's 200 stimuli.

Worlds are named by seed, ``full`` marks the full-size world (100 voxels per ROI, as
in ``neuroalign synthesize``): ``0`` is the tests' world, ``0full`` the full-size one.

Usage::

    python experiments/synthesis_effects.py [--worlds 0 1 2 0full] [--regions mid late]
        [--scales 0.2 0.4] [--recurrence 1 2] [--seeds 0 1 2] [--n 16] [--steps 20]
        [--scheduler ddim]
        [--weights A.safetensors B.safetensors]
"""

import argparse
import itertools
import time
from pathlib import Path

import diffusers
import numpy as np
import torch
from scipy.stats import binomtest
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
SCHEDULERS = {"ddim": "DDIMScheduler", "ddpm": "DDPMScheduler"}


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


def build_world(name):
    """The world, its subject and the fitted guiding encoder."""
    seed = int(name.removesuffix("full"))
    world = make_world(seed=seed, n_per_category=40, n_subjects=1, quick=not name.endswith("full"))
    extractor = FeatureExtractor(default_model(), FEATURE_LAYERS, image_size=64)
    encoder = fit_image_encoder(extractor, world.stimuli, world.fmri["sub-01"], cv=5)
    return world, world.subjects["fmri"]["sub-01"], encoder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worlds", nargs="+", default=["0", "1", "2", "0full"])
    parser.add_argument("--weights", type=Path, nargs="+", default=[DEFAULT_DDPM_WEIGHTS])
    parser.add_argument("--regions", nargs="+", default=["mid", "late"])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.2, 0.4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=16, help="images per seed and condition")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scheduler", choices=sorted(SCHEDULERS), default="ddim")
    parser.add_argument(
        "--recurrence", type=int, nargs="+", default=[2], help="see guided_sample's recurrence"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    network = default_model()
    print(
        f"{'world':6s} {'weights':24s} {'region':6s} {'scale':>5s} {'rec':>3s} "
        f"{'d_early':>8s} {'d_mid':>8s} {'d_late':>8s} {'pref':>4s} "
        f"{'guided':>7s} {'unguided':>8s} {'p':>8s} {'s':>5s}"
    )
    for name in args.worlds:
        world, subject, encoder = build_world(name)
        late_category = preferred_category(world, subject, "late")
        for weights in args.weights:
            pipeline = default_ddpm(weights)
            scheduler = getattr(diffusers, SCHEDULERS[args.scheduler])
            pipeline.scheduler = scheduler.from_config(pipeline.scheduler.config)
            for region in args.regions:
                objective = BrainObjective(encoder, region=region)
                for scale, recurrence in itertools.product(args.scales, args.recurrence):
                    start = time.perf_counter()
                    images = {}
                    for label, value in (("guided", scale), ("unguided", 0.0)):
                        images[label] = torch.cat(
                            [
                                guided_sample(
                                    pipeline,
                                    objective,
                                    n=args.n,
                                    steps=args.steps,
                                    seed=seed,
                                    guidance_scale=value,
                                    recurrence=recurrence,
                                    progress=False,
                                ).images
                                for seed in args.seeds
                            ]
                        )
                    effects = region_effects(
                        images["guided"], images["unguided"], subject.respond, subject.regions
                    )
                    counts = [category_count(network, images[k], late_category) for k in images]
                    total = len(images["guided"])
                    p = binomtest(counts[0], total, 1 / N_CATEGORIES, alternative="greater").pvalue
                    cells = " ".join(
                        f"{effects.loc[r, 'cohens_d']:8.2f}" for r in ("early", "mid", "late")
                    )
                    print(
                        f"{name:6s} {weights.name[:24]:24s} {region:6s} {scale:5.2f} "
                        f"{recurrence:3d} {cells} "
                        f"{late_category:4d} {counts[0]:3d}/{total:<3d} {counts[1]:4d}/{total:<3d} "
                        f"{p:8.1e} {time.perf_counter() - start:5.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
