"""Train the default DDPM on the synthetic world and write its shipped weights.

A ``UNet2DModel`` of about one million parameters (``DDPM_UNET_CONFIG``) learns to
denoise the synthetic stimuli, rendered at 64 x 64 and reduced to 32 x 32 (area
averaging), with random horizontal flips. Every ``POOL_REFRESH`` steps a fresh stimulus
set is drawn, so the network rarely sees an image twice. Weights are an exponential
moving average of the training weights, stored as float16 safetensors with the UNet and
scheduler configurations and the training recipe as metadata.

The shipped weights come from two seeded stages of ``--steps`` each (``--stages 2``):
stage 1 trains from scratch with ``--seed`` and peak learning rate ``--max-lr``; stage
2 continues from stage 1's float16 weights with seed ``--seed + 1``, fresh stimulus
pools and half the peak learning rate (final loss 0.0339 after stage 1, 0.0288 after
stage 2). On the tests' world (seed 0, quick), guidance toward the category-tuned late
ROI works only with stage 2's samples: at guidance 0.2, 6-9 of 16 images per seed show
its preferred category vs 0-2 unguided (stage 1: 0-1 of 16), see
``experiments/synthesis_effects.py``; not on every world (tests/synthesis/test_world.py).
On 2 shared CPU cores each stage takes about 20 minutes.

Usage::

    python experiments/train_ddpm.py   # the shipped weights: --stages 2 --steps 450 --seed 0
    python experiments/train_ddpm.py --stages 1 [--steps N] [--seed S] [--init PATH] [--out PATH]

The default is the same as the two commands
``train_ddpm.py --stages 1 --seed 0 --out stage1.safetensors`` and
``train_ddpm.py --stages 1 --seed 1 --init stage1.safetensors --max-lr 1e-3``.
"""

import argparse
import copy
import json
import math
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel
from safetensors.torch import load_file, save_file
from torch.nn import functional as F  # noqa: N812

from data_adapters.synthetic import make_stimuli
from neuroalign.models import (
    DDPM_SCHEDULER_CONFIG,
    DDPM_UNET_CONFIG,
    DEFAULT_DDPM_WEIGHTS,
)

PER_CATEGORY = 200  # 1000 images per pool
POOL_REFRESH = 100  # steps between fresh pools
BATCH_SIZE = 16
MAX_LR = 2e-3
WARMUP = 50
EMA_DECAY = 0.99
THREADS = 1


def pool_seed(seed, index):
    """Seed of the index-th stimulus pool (distinct from the worlds' seeds 0..999)."""
    return 200_000 + zlib.crc32(f"ddpm-{seed}-{index}".encode()) % 80_000


def training_images(seed, index):
    """A fresh pool of 32 x 32 training images in [-1, 1], shape (n, 3, 32, 32)."""
    images = torch.from_numpy(make_stimuli(PER_CATEGORY, seed=pool_seed(seed, index)).images)
    size = DDPM_UNET_CONFIG["sample_size"]
    return F.interpolate(images, size=(size, size), mode="area") * 2 - 1


def learning_rate(step, steps, max_lr):
    """Linear warm-up, then cosine decay to zero."""
    if step < WARMUP:
        return max_lr * (step + 1) / WARMUP
    return max_lr * 0.5 * (1 + math.cos(math.pi * (step - WARMUP) / max(1, steps - WARMUP)))


def shipped_state(unet):
    """The float16 state dict that is written to the weights file."""
    return {key: value.half().contiguous() for key, value in unet.state_dict().items()}


def train(*, steps, seed, init=None, max_lr=MAX_LR):
    """Train the UNet (from scratch, or on from ``init``); return the EMA model and the loss.

    ``init`` is a weights file or a float16 state dict (see ``shipped_state``).
    """
    torch.manual_seed(seed)
    unet = UNet2DModel(**DDPM_UNET_CONFIG)
    if init is not None:
        state = load_file(init) if isinstance(init, Path) else init
        unet.load_state_dict({key: value.float() for key, value in state.items()})
    ema = copy.deepcopy(unet).requires_grad_(False)
    scheduler = DDPMScheduler(**DDPM_SCHEDULER_CONFIG)
    optimiser = torch.optim.AdamW(unet.parameters(), lr=max_lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    losses, start = [], time.perf_counter()
    for step in range(steps):
        if step % POOL_REFRESH == 0:
            pool = training_images(seed, step // POOL_REFRESH)
        rows = torch.randint(0, len(pool), (BATCH_SIZE,), generator=generator)
        clean = pool[rows]
        flip = torch.rand(BATCH_SIZE, generator=generator) < 0.5
        clean = torch.where(flip[:, None, None, None], clean.flip(-1), clean)
        noise = torch.randn(clean.shape, generator=generator)
        t = torch.randint(
            0, scheduler.config.num_train_timesteps, (BATCH_SIZE,), generator=generator
        )
        noisy = scheduler.add_noise(clean, noise, t)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps, max_lr)
        loss = F.mse_loss(unet(noisy, t).sample, noise)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimiser.step()
        with torch.no_grad():
            for target, source in zip(ema.parameters(), unet.parameters()):
                target.lerp_(source, 1 - EMA_DECAY)
        losses.append(loss.item())
        if (step + 1) % 25 == 0:
            print(
                f"step {step + 1:4d}/{steps}  loss {np.mean(losses[-25:]):.4f}  "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
    return ema.eval(), float(np.mean(losses[-50:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=450)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_DDPM_WEIGHTS)
    parser.add_argument(
        "--init", type=Path, default=None, help="continue training from these weights"
    )
    parser.add_argument("--max-lr", type=float, default=MAX_LR)
    parser.add_argument(
        "--stages",
        type=int,
        choices=(1, 2),
        default=2,
        help="2 (the recipe of the shipped weights): train from scratch, then on with "
        "seed + 1 and half the peak learning rate; 1: a single stage",
    )
    args = parser.parse_args(argv)
    if args.stages == 2 and args.init is not None:
        parser.error("--stages 2 trains from scratch; pass --stages 1 to continue from --init")
    torch.set_num_threads(THREADS)
    start = time.perf_counter()
    unet, loss = train(steps=args.steps, seed=args.seed, init=args.init, max_lr=args.max_lr)
    if args.stages == 2:
        print(f"stage 1 done (loss {loss:.4f}); stage 2", flush=True)
        unet, loss = train(
            steps=args.steps, seed=args.seed + 1, init=shipped_state(unet), max_lr=args.max_lr / 2
        )
    seconds = time.perf_counter() - start
    metadata = {
        "architecture": "UNet2DModel",
        "unet_config": json.dumps(DDPM_UNET_CONFIG),
        "scheduler_config": json.dumps(DDPM_SCHEDULER_CONFIG),
        "steps": str(args.steps),
        "batch_size": str(BATCH_SIZE),
        "seed": str(args.seed),
        "init": "" if args.init is None else args.init.name,
        "max_lr": str(args.max_lr),
        "stages": str(args.stages),
        "recipe": (
            f"stage 1: --steps {args.steps} --seed {args.seed} --max-lr {args.max_lr}; "
            f"stage 2: --steps {args.steps} --seed {args.seed + 1} --max-lr {args.max_lr / 2} "
            "from stage 1's float16 weights"
            if args.stages == 2
            else f"--steps {args.steps} --seed {args.seed} --max-lr {args.max_lr}"
            + ("" if args.init is None else f" --init {args.init.name}")
        ),
        "final_loss": f"{loss:.4f}",
        "training_script": "experiments/train_ddpm.py",
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(shipped_state(unet), args.out, metadata=metadata)
    print(
        f"final loss {loss:.4f}; trained in {seconds:.0f} s; wrote {args.out} "
        f"({args.out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
