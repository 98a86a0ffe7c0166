import pytest
import torch

from neuroalign.synthesis import BrainObjective, controversial_stimuli, maximize_activation


@pytest.mark.parametrize("parameterization", ["fourier", "pixel"])
def test_raises_objective_from_random_start(redness, parameterization):
    result = maximize_activation(
        redness,
        n=2,
        image_size=16,
        steps=60,
        parameterization=parameterization,
        blur_sigma=0.5,
        progress=False,
    )
    start = maximize_activation(
        redness,
        n=2,
        image_size=16,
        steps=1,
        lr=1e-8,
        parameterization=parameterization,
        progress=False,
    )
    assert result.images.shape == (2, 3, 16, 16)
    assert (result.scores > start.scores + 0.2).all()
    torch.testing.assert_close(result.scores, redness(result.images))


def test_deterministic(redness):
    first = maximize_activation(redness, n=1, image_size=16, steps=5, progress=False)
    again = maximize_activation(redness, n=1, image_size=16, steps=5, progress=False)
    torch.testing.assert_close(first.images, again.images, rtol=0, atol=0)


def test_brain_objective_raises_predicted_region(encoder):
    objective = BrainObjective(encoder, region="mid")
    kwargs = {"n": 2, "image_size": 64, "progress": False}
    start = maximize_activation(objective, steps=1, lr=1e-8, **kwargs)
    result = maximize_activation(objective, steps=25, **kwargs)
    assert (result.scores > start.scores + 1.0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameterization": "wavelet"}, "'parameterization' must be one of"),
        ({"jitter": 16}, r"'jitter' must be in \[0, 15\]"),
        ({"image_size": 4}, "'image_size' must be >= 8"),
    ],
)
def test_bad_arguments(redness, kwargs, message):
    with pytest.raises(ValueError, match=message):
        maximize_activation(redness, **{"image_size": 16, "steps": 1, **kwargs})


def test_controversial_pixel_both_directions(redness):
    def greenness(images):
        return images[:, 1].mean(dim=(1, 2)) - images[:, [0, 2]].mean(dim=(1, 2, 3))

    result = controversial_stimuli(redness, greenness, n=2, image_size=16, steps=40, progress=False)
    disagreement = result.disagreement()
    assert (disagreement["a_over_b"] > 0.3).all() and (disagreement["b_over_a"] > 0.3).all()
    torch.testing.assert_close(result.scores["a_over_b"]["a"], redness(result.a_over_b.images))
    torch.testing.assert_close(result.a_over_b.scores, disagreement["a_over_b"])


def test_controversial_diffusion(ddpm, redness):
    def greenness(images):
        return images[:, 1].mean(dim=(1, 2)) - images[:, [0, 2]].mean(dim=(1, 2, 3))

    result = controversial_stimuli(
        redness,
        greenness,
        pipeline=ddpm,
        n=2,
        steps=6,
        guidance_scale=0.5,
        through_unet=False,
        progress=False,
    )
    assert result.a_over_b.settings["method"] == "guided diffusion"
    assert (
        result.disagreement()["a_over_b"] > result.disagreement()["a_over_b"].new_zeros(2)
    ).all()
    assert (result.scores["a_over_b"]["a"] > result.scores["b_over_a"]["a"]).all()


def test_controversial_needs_pipeline_for_diffusion(redness):
    with pytest.raises(ValueError, match="method='diffusion' needs a 'pipeline'"):
        controversial_stimuli(redness, redness, method="diffusion")
