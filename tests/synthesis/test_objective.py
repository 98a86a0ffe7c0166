import numpy as np
import pytest
import torch

from neuroalign.encoding import RidgeEncoder
from neuroalign.exceptions import DimensionError, NotFittedError
from neuroalign.synthesis import BrainObjective, ImageEncoder, contrast


def linear_encoder(rng, n_targets=4, regions=("a", "a", "b", "b")):
    """A fitted ridge encoder on flattened 2 x 2 images (12 features)."""
    X = rng.standard_normal((40, 12))
    Y = X @ rng.standard_normal((12, n_targets))
    ridge = RidgeEncoder(device="cpu").fit(X, Y)
    ids = [f"vox_{i}" for i in range(n_targets)]
    return ImageEncoder(torch.nn.Flatten(), ridge, regions=regions, neuroid_ids=ids), ridge


def test_region_objective_is_mean_prediction_of_region(rng):
    # Reference: RidgeEncoder.predict (numpy, float64) on the same flattened images.
    encoder, ridge = linear_encoder(rng)
    images = torch.rand(6, 3, 2, 2)
    expected = ridge.predict(images.flatten(1).numpy().astype(np.float64))
    for region, columns in (("a", [0, 1]), ("b", [2, 3])):
        scores = BrainObjective(encoder, region=region)(images)
        np.testing.assert_allclose(
            scores.numpy(), expected[:, columns].mean(1), rtol=1e-4, atol=1e-5
        )
    every = BrainObjective(encoder)(images)
    np.testing.assert_allclose(every.numpy(), expected.mean(1), rtol=1e-4, atol=1e-5)


def test_neuroids_by_name_or_index_and_weights(rng):
    encoder, _ = linear_encoder(rng)
    images = torch.rand(3, 3, 2, 2)
    by_name = BrainObjective(encoder, neuroids=["vox_1", "vox_3"])(images)
    by_index = BrainObjective(encoder, neuroids=[1, 3])(images)
    weighted = BrainObjective(encoder, weights=[0, 0.5, 0, 0.5])(images)
    torch.testing.assert_close(by_name, by_index)
    torch.testing.assert_close(by_name, weighted)


def test_contrast_between_regions(rng):
    encoder, _ = linear_encoder(rng)
    images = torch.rand(3, 3, 2, 2)
    a, b = BrainObjective(encoder, region="a"), BrainObjective(encoder, region="b")
    torch.testing.assert_close(contrast(a, b)(images), a(images) - b(images))
    torch.testing.assert_close(contrast(a, b, weight_b=-1.0)(images), a(images) + b(images))


def test_gradient_reaches_the_pixels(rng):
    encoder, _ = linear_encoder(rng)
    images = torch.rand(2, 3, 2, 2, requires_grad=True)
    BrainObjective(encoder, region="b")(images).sum().backward()
    assert images.grad.abs().sum() > 0


def test_unknown_region_lists_regions(rng):
    encoder, _ = linear_encoder(rng, regions=("early", "early", "late", "late"))
    with pytest.raises(
        ValueError, match=r"'region' 'lat' does not exist.*\['early', 'late'\].*'late'"
    ):
        BrainObjective(encoder, region="lat")


def test_unknown_neuroid(rng):
    encoder, _ = linear_encoder(rng)
    with pytest.raises(ValueError, match="'vox_9' does not exist"):
        BrainObjective(encoder, neuroids=["vox_9"])
    with pytest.raises(ValueError, match="index 7 is out of range for 4 targets"):
        BrainObjective(encoder, neuroids=[7])


def test_region_without_labels(rng):
    encoder, _ = linear_encoder(rng, regions=None)
    with pytest.raises(ValueError, match="no region labels"):
        BrainObjective(encoder, region="a")


def test_one_selection_only(rng):
    encoder, _ = linear_encoder(rng)
    with pytest.raises(ValueError, match="at most one of"):
        BrainObjective(encoder, region="a", neuroids=[0])


def test_weights_must_match_targets(rng):
    encoder, _ = linear_encoder(rng)
    with pytest.raises(DimensionError, match="predicts 4 targets but the objective weights 3"):
        BrainObjective(encoder, weights=[1, 1, 1])(torch.rand(1, 3, 2, 2))


def test_unfitted_encoder_is_refused():
    with pytest.raises(NotFittedError, match="not fitted; fit it"):
        ImageEncoder(torch.nn.Flatten(), RidgeEncoder())


def test_labels_must_match_targets(rng):
    with pytest.raises(
        DimensionError, match=r"'regions' must have one entry per encoder target \(4\)"
    ):
        linear_encoder(rng, regions=("a", "b"))


def test_encoder_must_export_to_torch():
    with pytest.raises(TypeError, match="to_torch"):
        ImageEncoder(torch.nn.Flatten(), object())
