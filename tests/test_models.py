"""The default network: shipped weights, architecture contract, and that it really learned."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from data_adapters.synthetic import CATEGORIES, make_stimuli
from neuroalign.models import DEFAULT_LAYERS, DEFAULT_WEIGHTS, ConvNet, default_model


@pytest.fixture(scope="module")
def model():
    return default_model()


def test_default_model_loads_in_eval_mode(model):
    assert isinstance(model, ConvNet)
    assert not any(module.training for module in model.modules())
    assert model.categories == CATEGORIES
    assert next(model.parameters()).device.type == "cpu"


def test_output_shape_and_layers_from_shallow_to_deep(model):
    images = torch.rand(3, 3, 64, 64)
    outputs = {}
    modules = dict(model.named_modules())
    handles = [
        modules[name].register_forward_hook(
            lambda _module, _inputs, output, name=name: outputs.__setitem__(name, output)
        )
        for name in DEFAULT_LAYERS
    ]
    with torch.no_grad():
        logits = model(images)
    for handle in handles:
        handle.remove()
    assert logits.shape == (3, len(CATEGORIES))
    assert list(outputs) == list(DEFAULT_LAYERS)
    spatial = [outputs[name].shape[-1] for name in DEFAULT_LAYERS[:-1]]
    assert spatial == sorted(spatial, reverse=True) and spatial[0] == 32


def test_shipped_weights_fit_the_architecture():
    state = load_file(DEFAULT_WEIGHTS)
    expected = ConvNet(CATEGORIES).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in expected.items()
    }
    with safe_open(DEFAULT_WEIGHTS, framework="pt") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata["categories"]) == list(CATEGORIES)
    assert DEFAULT_WEIGHTS.stat().st_size < 2_000_000


def test_model_is_deterministic(model):
    images = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        first, again = model(images), model(images)
        reloaded = default_model()(images)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    torch.testing.assert_close(first, reloaded, rtol=0, atol=0)


def test_model_classifies_fresh_synthetic_stimuli(model):
    # Seed 12345 is used by neither training (seeds >= 10000 drawn per epoch from a
    # CRC, see the training script) nor its held-out set; held-out accuracy was > 0.95,
    # chance is 0.2, so 0.85 leaves a wide margin for a 250-image sample.
    stimuli = make_stimuli(50, seed=12345)
    with torch.no_grad():
        predicted = model(torch.from_numpy(stimuli.images)).argmax(1).numpy()
    assert np.mean(predicted == stimuli.labels) >= 0.85


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors.*train_default_model"):
        default_model(missing)


def test_corrupt_weights_file_is_refused(tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        default_model(corrupt)


def test_weights_without_categories_are_refused(tmp_path):
    path = tmp_path / "bare.safetensors"
    save_file(ConvNet(CATEGORIES).state_dict(), path)
    with pytest.raises(ValueError, match="no 'categories' metadata"):
        default_model(path)


def test_weights_for_another_architecture_are_refused(tmp_path):
    state = dict(load_file(DEFAULT_WEIGHTS))
    del state["fc.bias"]
    state["conv1.0.weight"] = torch.zeros(8, 3, 3, 3)
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "other.safetensors"
    save_file(state, path, metadata={"categories": json.dumps(list(CATEGORIES))})
    with pytest.raises(ValueError) as info:
        default_model(path)
    message = str(info.value)
    assert "missing: fc.bias" in message and "unexpected: extra.weight" in message
    assert "conv1.0.weight: expected (16, 3, 3, 3), got (8, 3, 3, 3)" in message


def test_convnet_needs_two_categories():
    with pytest.raises(ValueError, match="'categories' must name at least 2 classes"):
        ConvNet(["only"])
