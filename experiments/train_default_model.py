"""Train the default convnet on the synthetic world and write its shipped weights.

Every epoch draws a fresh stimulus set (new colours, sizes, positions, orientations,
textures and backgrounds: the world's own nuisance parameters are the augmentation),
so the network never sees an image twice. Accuracy is reported on a held-out set drawn
with a seed that training never uses. The run is seeded and takes a few minutes on
2 CPU cores.

Usage::

    python experiments/train_default_model.py [--epochs 16] [--seed 0] [--out PATH]
"""

import argparse
import json
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch.nn import functional as F  # noqa: N812

from data_adapters.synthetic import CATEGORIES, make_stimuli
from neuroalign.models import DEFAULT_WEIGHTS, ConvNet

PER_CATEGORY = 400  # 2000 fresh images per epoch
HELD_OUT_PER_CATEGORY = 200
HELD_OUT_SEED = 99_999  # never used for training stimuli
BATCH_SIZE = 64
MAX_LR = 3e-3
WEIGHT_DECAY = 1e-4
THREADS = 2


def epoch_seed(seed, epoch):
    """Seed of the stimuli of one epoch (distinct from HELD_OUT_SEED and from 0..999)."""
    return 10_000 + zlib.crc32(f"{seed}-{epoch}".encode()) % 80_000


def accuracy(model, stimuli):
    """Fraction of stimuli whose arg-max logit is their category."""
    model.eval()
    with torch.no_grad():
        logits = torch.cat(
            [
                model(torch.from_numpy(stimuli.images[i : i + 256]))
                for i in range(0, len(stimuli), 256)
            ]
        )
    return float((logits.argmax(1).numpy() == stimuli.labels).mean())


def train(*, epochs, seed):
    """Train a ConvNet from scratch.

    Parameters
    ----------
    epochs : int
    seed : int

    Returns
    -------
    model : ConvNet
        In eval mode, input normalisation set from the first epoch's images.
    held_out : float
        Accuracy on the held-out stimuli.
    """
    torch.manual_seed(seed)
    model = ConvNet(CATEGORIES)
    stimuli = make_stimuli(PER_CATEGORY, seed=epoch_seed(seed, 0))
    with torch.no_grad():
        images = torch.from_numpy(stimuli.images)
        model.input_mean.copy_(images.mean(dim=(0, 2, 3), keepdim=True))
        model.input_std.copy_(images.std(dim=(0, 2, 3), keepdim=True))
    held_out = make_stimuli(HELD_OUT_PER_CATEGORY, seed=HELD_OUT_SEED)
    steps = epochs * int(np.ceil(len(stimuli) / BATCH_SIZE))
    optimiser = torch.optim.AdamW(model.parameters(), lr=MAX_LR, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=MAX_LR, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        if epoch:
            stimuli = make_stimuli(PER_CATEGORY, seed=epoch_seed(seed, epoch))
        images, labels = torch.from_numpy(stimuli.images), torch.from_numpy(stimuli.labels)
        model.train()
        total = 0.0
        for rows in torch.randperm(len(stimuli), generator=generator).split(BATCH_SIZE):
            optimiser.zero_grad()
            loss = F.cross_entropy(model(images[rows]), labels[rows])
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(rows)
        print(
            f"epoch {epoch + 1:2d}/{epochs}  loss {total / len(stimuli):.4f}  "
            f"held-out accuracy {accuracy(model, held_out):.4f}",
            flush=True,
        )
    return model.eval(), accuracy(model, held_out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    start = time.perf_counter()
    model, held_out = train(epochs=args.epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    metadata = {
        "architecture": "ConvNet",
        "categories": json.dumps(list(model.categories)),
        "image_size": "64",
        "epochs": str(args.epochs),
        "seed": str(args.seed),
        "held_out_accuracy": f"{held_out:.4f}",
        "held_out_seed": str(HELD_OUT_SEED),
        "training_script": "experiments/train_default_model.py",
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file(state, args.out, metadata=metadata)
    print(
        f"held-out accuracy {held_out:.4f} on {len(CATEGORIES) * HELD_OUT_PER_CATEGORY} "
        f"images; trained in {seconds:.0f} s; wrote {args.out} "
        f"({args.out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
