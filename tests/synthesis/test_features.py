import numpy as np
import pytest
import torch

from data_adapters.activations import extract
from neuroalign.exceptions import UnknownLayerError
from neuroalign.models import default_model
from neuroalign.synthesis import FeatureExtractor


@pytest.mark.parametrize("pool", ["mean", "max", "flatten"])
def test_features_match_extract(rng, pool):
    # Reference: the hook-based extractor of data_adapters (no gradients); float32 tolerance.
    images = rng.random((5, 3, 64, 64), dtype=np.float32)
    model = default_model()
    reference = extract(model, images, ["conv2", "conv4"], pool=pool, device="cpu", progress=False)
    features = FeatureExtractor(model, ["conv2", "conv4"], pool=pool)(torch.from_numpy(images))
    expected = np.concatenate([reference["conv2"].values, reference["conv4"].values], axis=1)
    np.testing.assert_allclose(features.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_grid_pooling_and_resampling_are_differentiable(rng):
    extractor = FeatureExtractor(default_model(), "conv3", pool=2, image_size=64)
    images = torch.rand(2, 3, 32, 32, requires_grad=True)
    features = extractor(images)
    assert features.shape == (2, 64 * 4)
    features.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in extractor.parameters())


def test_unknown_layer_suggests_names():
    with pytest.raises(UnknownLayerError, match="'conv5'.*Did you mean 'conv"):
        FeatureExtractor(default_model(), ["conv5"])


@pytest.mark.parametrize(("pool", "message"), [("avg", "'pool' must be one of"), (0, "at least 1")])
def test_bad_pool(pool, message):
    with pytest.raises(ValueError, match=message):
        FeatureExtractor(default_model(), "conv1", pool=pool)


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match="'model' must be a torch.nn.Module"):
        FeatureExtractor(lambda x: x, "conv1")
