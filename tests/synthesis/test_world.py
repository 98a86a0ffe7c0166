"""On the synthetic world: guidance raises the TRUE (simulated) response of its target.

The encoder that guides is fitted by project code (ridge on the default network's
features of the world's stimuli vs the simulated fMRI); the simulator only scores the
images afterwards.
"""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler
from torch.nn import functional as F  # noqa: N812

from neuroalign.models import default_model
from neuroalign.synthesis import BrainObjective, guided_sample, region_effects

N_IMAGES = 12
STEPS = 20
SCALE = 0.4


def samples(ddpm, encoder, region, scheduler=DDIMScheduler):
    ddpm.scheduler = scheduler.from_config(ddpm.scheduler.config)
    objective = BrainObjective(encoder, region=region)
    kwargs = {"n": N_IMAGES, "steps": STEPS, "seed": 0, "progress": False, "through_unet": False}
    guided = guided_sample(ddpm, objective, guidance_scale=SCALE, **kwargs)
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


@pytest.mark.slow
@pytest.mark.xfail(
    reason="the shipped DDPM (trained ~22 min on 2 CPU cores) draws coloured blobs, not "
    "shapes; guidance toward the category-tuned late ROI does not produce its preferred "
    "silhouette (true late response not raised: d = -1.15 over 32 images, 30 DDIM steps)",
    strict=True,
)
def test_late_images_show_preferred_category(ddpm, encoder, subject, world):
    with torch.no_grad():
        late = subject.respond(torch.from_numpy(world.stimuli.images))[:, subject.regions == "late"]
    per_category = np.array(
        [late.mean(1).numpy()[world.stimuli.labels == k].mean() for k in range(5)]
    )
    preferred = int(per_category.argmax())
    guided, unguided = samples(ddpm, encoder, "late")
    network = default_model()
    with torch.no_grad():
        labels = network(F.interpolate(guided.images, size=64, mode="bilinear")).argmax(1)
    # Chance is 1/5; ask for at least half of the images (binomial p < 0.02 for n=12).
    assert (labels == preferred).float().mean() >= 0.5
