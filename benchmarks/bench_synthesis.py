"""Guided sampling speed: seconds per image per scheduler step, CPU and CUDA when available.

Times the default DDPM (32 x 32, about one million parameters) steered by a brain
objective (the default convnet's conv2-conv4 features at 64 x 64 and a linear readout
of 90 voxels), with the gradient through the UNet (exact) and through the predicted
clean image only (cheap), against unguided sampling.

Usage::

    python benchmarks/bench_synthesis.py [--quick] [--device cpu|cuda|auto]
"""

import argparse

import torch
from _timing import timed
from diffusers import DDIMScheduler

from neuroalign.models import default_ddpm, default_model
from neuroalign.synthesis import BrainObjective, FeatureExtractor, ImageEncoder, guided_sample

N_VOXELS = 90


def objective(device):
    """A brain objective with random (but fixed) readout weights: timing does not need a fit."""
    extractor = FeatureExtractor(default_model(), ("conv2", "conv3", "conv4"), image_size=64)
    generator = torch.Generator().manual_seed(0)
    readout = torch.nn.Linear(224, N_VOXELS)
    with torch.no_grad():
        readout.weight.copy_(torch.randn(N_VOXELS, 224, generator=generator) / 15)
        readout.bias.zero_()
    encoder = ImageEncoder(extractor, readout, regions=["late"] * N_VOXELS)
    return BrainObjective(encoder, region="late").to(device)


def reference_unguided(pipeline, n, steps):
    """diffusers' own DDPMPipeline loop (with the pipeline's scheduler), for the overhead ratio."""
    generator = torch.Generator(device=pipeline.device).manual_seed(0)
    return pipeline(batch_size=n, num_inference_steps=steps, generator=generator, output_type="np")


def bench_device(device, quick):
    """Print the timings of one device."""
    n, steps, batch = (4, 5, 4) if quick else ((8, 20, 8) if device == "cpu" else (64, 50, 64))
    pipeline = default_ddpm(device=device)
    pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    target = objective(device)
    guided_sample(pipeline, target, n=min(n, 2), steps=2, progress=False)  # warm-up
    repeats = 1 if quick else 3
    print(f"device={device} n={n} steps={steps} batch_size={batch} (DDPM 32x32, DDIM)")
    reference, _ = timed(lambda: reference_unguided(pipeline, n, steps), repeats)
    print(f"  {'diffusers DDPMPipeline (unguided)':36s} {reference / (n * steps) * 1e3:8.2f} ms")
    rows = {
        "neuroalign unguided": {"guidance_scale": 0.0},
        "guided, gradient through UNet": {"guidance_scale": 2.0, "through_unet": True},
        "guided, gradient through x0 only": {"guidance_scale": 2.0, "through_unet": False},
    }
    for label, kwargs in rows.items():
        seconds, _ = timed(
            lambda kwargs=kwargs: guided_sample(
                pipeline, target, n=n, steps=steps, batch_size=batch, progress=False, **kwargs
            ),
            repeats,
        )
        per = seconds / (n * steps)
        print(f"  {label:36s} {per * 1e3:8.2f} ms  ({seconds / reference:.2f}x diffusers)")
    print("  (milliseconds per image per step; median of runs)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and steps")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if args.device != "auto":
        devices = [args.device]
    for device in devices:
        bench_device(device, args.quick)


if __name__ == "__main__":
    main()
