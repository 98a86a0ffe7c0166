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

from neuroalign.models import default_model
from neuroalign.synthesis import BrainObjective, guided_sample, region_effects

N_IMAGES = 12
STEPS = 20
SCALE = 0.4
LATE_SCALE = 0.2
LATE_IMAGES = 16  # per seed
LATE_SEEDS = (0, 1, 2)


def samples(ddpm, encoder, region, *, scale=SCALE, n=N_IMAGES, seed=0):
    ddpm.scheduler = DDIMScheduler.from_config(ddpm.scheduler.config)
    objective = BrainObjective(encoder, region=region)
    kwargs = {"n": n, "steps": STEPS, "seed": seed, "progress": False, "through_unet": False}
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


@pytest.mark.slow  # about 30 s: 48 guided + 48 unguided images
def test_late_images_raise_late_and_show_preferred_category(ddpm, encoder, subject, world):
    # The late ROI is tuned to one category's silhouette; its guidance is gentler (0.2):
    # at 0.4 the early and mid responses rise instead (d = 1.0 to 3.5) and the late one
    # does not (d = -0.9 to 0.2, 0/16 of the category; experiments/synthesis_effects.py).
    # This holds for this world (seed 0, quick) over sampling seeds 0-5 (late d = 0.5 to
    # 1.1, 6-9/16 of the category vs 0-2/16 unguided) and for world seed 1, but NOT for
    # every world: world seed 2 (preferred category "cross", which the classifier already
    # gives 13-15/16 unguided samples) and the full-size world of seed 0 show no late
    # effect (d = -0.3 to 0.1).
    with torch.no_grad():
        late = subject.respond(torch.from_numpy(world.stimuli.images))[:, subject.regions == "late"]
    per_category = np.array(
        [late.mean(1).numpy()[world.stimuli.labels == k].mean() for k in range(5)]
    )
    preferred = int(per_category.argmax())
    runs = [
        samples(ddpm, encoder, "late", scale=LATE_SCALE, n=LATE_IMAGES, seed=seed)
        for seed in LATE_SEEDS
    ]
    guided = torch.cat([g.images for g, _ in runs])
    unguided = torch.cat([u.images for _, u in runs])
    # The late ROI's true response rises (at least Cohen's "small" effect, 0.2), more
    # than in the regions that were not targeted.
    effects = region_effects(guided, unguided, subject.respond, subject.regions)
    assert effects.loc["late", "cohens_d"] > 0.2, effects
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
