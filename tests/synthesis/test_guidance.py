"""Guided sampling with the default pixel-space DDPM and several schedulers."""

import types

import pytest
import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
)

from neuroalign.synthesis import guided_sample

SCHEDULERS = [
    None,  # the pipeline's own DDPMScheduler
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    EulerAncestralDiscreteScheduler,
]


def with_scheduler(pipeline, scheduler_class):
    if scheduler_class is not None:
        pipeline.scheduler = scheduler_class.from_config(pipeline.scheduler.config)
    return pipeline


@pytest.mark.parametrize(
    "scheduler_class", SCHEDULERS, ids=lambda s: getattr(s, "__name__", "DDPM")
)
def test_guidance_raises_objective_for_every_scheduler(ddpm, redness, scheduler_class):
    pipeline = with_scheduler(ddpm, scheduler_class)
    kwargs = {"n": 4, "steps": 8, "seed": 1, "progress": False, "through_unet": False}
    unguided = guided_sample(pipeline, redness, guidance_scale=0.0, **kwargs)
    guided = guided_sample(pipeline, redness, guidance_scale=0.5, **kwargs)
    assert guided.images.shape == (4, 3, 32, 32)
    assert guided.images.min() >= 0 and guided.images.max() <= 1
    # Paired by seed: every guided image is redder than its unguided twin.
    assert (guided.scores > unguided.scores).all(), (guided.scores, unguided.scores)
    torch.testing.assert_close(guided.scores, redness(guided.images))


@pytest.mark.parametrize(
    "scheduler_class",
    [None, DPMSolverMultistepScheduler, EulerDiscreteScheduler],
    ids=lambda s: getattr(s, "__name__", "DDPM"),
)
def test_recurrence_repeats_guided_steps_for_every_scheduler(ddpm, redness, scheduler_class):
    pipeline = with_scheduler(ddpm, scheduler_class)
    kwargs = {"n": 3, "steps": 6, "seed": 4, "progress": False, "guidance_scale": 0.3}
    once = guided_sample(pipeline, redness, **kwargs)
    twice = guided_sample(pipeline, redness, recurrence=2, **kwargs)
    again = guided_sample(pipeline, redness, recurrence=2, **kwargs)
    unguided = guided_sample(pipeline, redness, **{**kwargs, "guidance_scale": 0.0})
    assert twice.settings["recurrence"] == 2
    torch.testing.assert_close(twice.images, again.images, rtol=0, atol=0)
    assert not torch.allclose(once.images, twice.images)
    assert twice.images.min() >= 0 and twice.images.max() <= 1
    # Re-noised repeats keep the sample on the model's path: every guided image is still
    # redder than its unguided twin.
    assert (twice.scores > unguided.scores).all(), (twice.scores, unguided.scores)
    # The unguided control with the same recurrence is a different sampler, and guidance
    # still raises the objective over it.
    control = guided_sample(pipeline, redness, recurrence=2, **{**kwargs, "guidance_scale": 0.0})
    assert not torch.allclose(control.images, unguided.images)
    assert (twice.scores > control.scores).all(), (twice.scores, control.scores)


def test_gradient_through_the_unet(ddpm, redness):
    kwargs = {"n": 2, "steps": 4, "seed": 0, "progress": False, "guidance_scale": 0.5}
    exact = guided_sample(ddpm, redness, through_unet=True, **kwargs)
    cheap = guided_sample(ddpm, redness, through_unet=False, **kwargs)
    unguided = guided_sample(ddpm, redness, **{**kwargs, "guidance_scale": 0.0})
    assert (exact.scores > unguided.scores).all()
    assert not torch.allclose(exact.images, cheap.images)
    assert all(p.grad is None for p in ddpm.unet.parameters())


def test_deterministic_and_independent_of_batching(ddpm, redness):
    pipeline = with_scheduler(ddpm, DDIMScheduler)
    kwargs = {"n": 3, "steps": 4, "seed": 5, "progress": False}
    first = guided_sample(pipeline, redness, batch_size=3, **kwargs)
    again = guided_sample(pipeline, redness, batch_size=3, **kwargs)
    split = guided_sample(pipeline, redness, batch_size=2, **kwargs)
    torch.testing.assert_close(first.images, again.images, rtol=0, atol=0)
    # A deterministic scheduler gives each seed the same image in any batch.
    torch.testing.assert_close(first.images, split.images, rtol=1e-4, atol=1e-4)


def test_schedule_and_rerank(ddpm, redness):
    kwargs = {"n": 4, "steps": 4, "seed": 2, "progress": False, "through_unet": False}
    off = guided_sample(ddpm, redness, guidance_scale=0.0, **kwargs)
    scheduled_off = guided_sample(
        ddpm, redness, guidance_scale=0.5, guidance_schedule=lambda progress: 0.0, **kwargs
    )
    torch.testing.assert_close(off.images, scheduled_off.images)
    ranked = off.rerank(top=3)
    assert len(ranked) == 3
    assert (ranked.scores[:-1] >= ranked.scores[1:]).all()
    torch.testing.assert_close(ranked.images[0], off.images[ranked.seeds[0]])


def test_does_not_change_the_pipeline_scheduler(ddpm, redness):
    before = dict(ddpm.scheduler.config)
    guided_sample(ddpm, redness, n=1, steps=3, progress=False)
    assert dict(ddpm.scheduler.config) == before
    assert ddpm.scheduler.num_inference_steps is None


def test_pipeline_without_scheduler(ddpm, redness):
    broken = types.SimpleNamespace(unet=ddpm.unet, scheduler=None)
    with pytest.raises(ValueError, match="has no scheduler; give it one"):
        guided_sample(broken, redness, n=1, steps=1)


def test_pipeline_without_unet(ddpm, redness):
    with pytest.raises(ValueError, match="has no 'unet' module"):
        guided_sample(types.SimpleNamespace(scheduler=ddpm.scheduler), redness, n=1, steps=1)


def test_incompatible_image_size(ddpm, redness):
    with pytest.raises(
        ValueError, match="'width' must be a positive multiple of 4.*got 30. Try 32"
    ):
        guided_sample(ddpm, redness, n=1, steps=1, width=30)


def test_sample_prediction_is_refused(ddpm, redness):
    pipeline = types.SimpleNamespace(
        unet=ddpm.unet, scheduler=DDIMScheduler(prediction_type="sample")
    )
    with pytest.raises(ValueError, match="prediction_type must be 'epsilon' or 'v_prediction'"):
        guided_sample(pipeline, redness, n=1, steps=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "'n' must be"),
        ({"steps": 0}, "'steps' must be"),
        ({"guidance_scale": -1.0}, "'guidance_scale' must be a finite number >= 0"),
        ({"recurrence": 0}, "'recurrence' must be"),
    ],
)
def test_bad_arguments(ddpm, redness, kwargs, message):
    with pytest.raises(ValueError, match=message):
        guided_sample(ddpm, redness, **{"n": 1, "steps": 1, **kwargs})
