"""On the synthetic world: guidance raises the TRUE (simulated) response of its target.

The encoder that guides is fitted by project code (ridge on the default network's
features of the world's stimuli vs the simulated fMRI); the simulator only scores the
images afterwards.
"""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler
from scipy.stats import binomtest
from torch.nn import functional as F  # noqa: N812

from neuroalign.models import default_ddpm, default_model
from neuroalign.synthesis import BrainObjective, guided_sample, region_effects

N_IMAGES = 12
STEPS = 20
SCALE = 0.4
LATE_SCALE = 0.2
LATE_RECURRENCE = 2
LATE_IMAGES = 16  # per seed
LATE_SEEDS = (0, 1, 2)


def samples(ddpm, encoder, region, *, scale=SCALE, n=N_IMAGES, seed=0, recurrence=1):
    ddpm.scheduler = DDIMScheduler.from_config(ddpm.scheduler.config)
    objective = BrainObjective(encoder, region=region)
    kwargs = {"n": n, "steps": STEPS, "seed": seed, "progress": False, "through_unet": False}
    kwargs["recurrence"] = recurrence  # the unguided control uses the same sampler
    guided = guided_sample(ddpm, objective, guidance_scale=scale, **kwargs)
    unguided = guided_sample(ddpm, objective, guidance_scale=0.0, **kwargs)
    return guided, unguided


def test_guidance_raises_true_activation_selectively(ddpm, encoder, subject):
    guided, unguided = samples(ddpm, encoder, "mid")
    # The encoder's own prediction rises (what guidance optimises) ...
    assert guided.scores.mean() > unguided.scores.mean() + 0.5
    # ... and so does the simulated region's true response: a large effect, larger than
    # in the regions that were not targeted.
    effects = region_effects(guided, unguided, subject.respond, subject.regions)
    assert effects.loc["mid", "cohens_d"] > 0.8, effects
    others = effects.drop(index="mid")
    assert (effects.loc["mid", "difference"] > others["difference"]).all(), effects


# The late ROI is tuned to one category's silhouette. Its guidance is gentler (0.2; at 0.4
# the early and mid responses rise instead) and takes every step twice, re-noising in
# between (recurrence=2; the unguided control uses the same sampler): the one-pass samples
# of the small DDPM keep coloured noise that the default network classifies as "cross".
# Measured with `python experiments/synthesis_effects.py --regions late --scales 0.2
# --recurrence 2` (3 seeds x 16 images; d for early / mid / late; preferred category,
# guided vs unguided; one-sided binomial p against 1/5):
#   world 0 (this one):      -0.32 / -0.40 / 0.14   44/48 vs 23/48   p = 1e-26
#   world 1:                 -0.19 / -0.36 / 0.95   17/48 vs  6/48   p = 9e-3
#   world 2:                 -0.13 / -0.08 / 0.45   18/48 vs  2/48   p = 4e-3
#   full-size world 0:       -0.22 / -0.31 / 0.15   43/48 vs 23/48   p = 5e-25
# So in every world the late response is the only one that rises and the preferred
# category is drawn far beyond chance, but in the two worlds whose late ROI prefers the
# square (the category of the DDPM's blob-like samples: 23/48 unguided) the rise is
# below Cohen's "small" effect. Before (stage 2 weights, one pass) worlds 0 and 1 passed
# every check and world 2 and the full-size world failed (late d = -0.02 and 0.26, with
# the mid response rising as much or more; 48/48 vs 40/48 and 3/48 vs 2/48).


@pytest.fixture(scope="module")
def late_images(encoder, subject, world):
    """Guided and unguided images toward the late ROI, and the ROI's preferred category."""
    with torch.no_grad():
        late = subject.respond(torch.from_numpy(world.stimuli.images))[:, subject.regions == "late"]
    per_category = np.array(
        [late.mean(1).numpy()[world.stimuli.labels == k].mean() for k in range(5)]
    )
    late_kwargs = {"scale": LATE_SCALE, "n": LATE_IMAGES, "recurrence": LATE_RECURRENCE}
    runs = [
        samples(default_ddpm(), encoder, "late", seed=seed, **late_kwargs) for seed in LATE_SEEDS
    ]
    guided = torch.cat([g.images for g, _ in runs])
    unguided = torch.cat([u.images for _, u in runs])
    return guided, unguided, int(per_category.argmax())


@pytest.mark.slow  # about a minute: 48 guided + 48 unguided images, every step twice
def test_late_images_raise_late_selectively_and_show_preferred_category(late_images, subject):
    guided, unguided, preferred = late_images
    # The late ROI's true response rises more than in the regions that were not targeted.
    effects = region_effects(guided, unguided, subject.respond, subject.regions)
    assert (effects.loc["late", "cohens_d"] > effects.drop(index="late")["cohens_d"]).all(), effects
    # The default network sees the preferred category more often than chance (1/5):
    # one-sided binomial test at p < 0.01 over the 48 guided images, and more often than
    # in the unguided images from the same seeds.
    network = default_model()
    with torch.no_grad():
        counts = [
            int((network(F.interpolate(x, size=64, mode="bilinear")).argmax(1) == preferred).sum())
            for x in (guided, unguided)
        ]
    assert binomtest(counts[0], len(guided), 1 / 5, alternative="greater").pvalue < 0.01, counts
    assert counts[0] > counts[1], counts


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="on this world the late ROI prefers squares, which the DDPM's unguided samples "
    "already resemble: late d = 0.14 (see the comment above)",
)
def test_late_effect_is_at_least_small(late_images, subject):
    guided, unguided, _ = late_images
    effects = region_effects(guided, unguided, subject.respond, subject.regions)
    assert effects.loc["late", "cohens_d"] > 0.2, effects
