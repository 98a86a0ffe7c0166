"""Tests of activation extraction with forward hooks (data_adapters.activations).

References are the same models run by hand in eval mode: intermediate outputs computed by
calling the submodules in order, hooks placed by the test itself, or ``transformers``'
``output_hidden_states``. With the same batches the numbers are identical; when
``extract`` uses smaller batches than the reference, float32 kernels may round
differently, so those comparisons allow rtol=1e-5, atol=1e-6.
"""

import copy
import itertools
from collections import namedtuple

import numpy as np
import pytest
import torch
import xarray as xr
import zarr
from torch import nn

from data_adapters.activations import extract, list_layers
from neuroalign.data import load, validate
from neuroalign.exceptions import DimensionError, NeuroalignWarning, UnknownLayerError

BATCH_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
CNN_LAYERS = ["fc", "conv1", "block.0", "bn1"]  # deliberately not in forward order
CNN_ORDER = ["conv1", "bn1", "block.0", "fc"]

StimulusSetLike = namedtuple("StimulusSetLike", ["images", "stimulus_ids"])


class SmallCNN(nn.Module):
    """Conv, batch norm (its running statistics make eval and train mode differ), dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.block = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2), nn.ReLU())
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(6 * 3 * 3, 5)
        self.unused = nn.Linear(2, 2)
        with torch.no_grad():
            self.bn1.running_mean.uniform_(-1, 1)
            self.bn1.running_var.uniform_(0.5, 2)

    def forward(self, x):
        x = self.block(self.relu(self.bn1(self.conv1(x))))
        return self.fc(self.dropout(x.flatten(1)))


def cnn_reference(model, images):
    """Every requested intermediate output, computed by calling the submodules by hand."""
    model = copy.deepcopy(model).eval()
    with torch.no_grad():
        conv1 = model.conv1(torch.as_tensor(images))
        bn1 = model.bn1(conv1)
        block0 = model.block[0](model.relu(bn1))
        fc = model.fc(model.block[1](block0).flatten(1))
    return {"conv1": conv1, "bn1": bn1, "block.0": block0, "fc": fc}


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return SmallCNN()


@pytest.fixture
def images(rng):
    return rng.standard_normal((10, 3, 8, 8)).astype(np.float32)


def no_hooks(model):
    return all(not module._forward_hooks for module in model.modules())


def test_cnn_layers_match_manual_forward(cnn, images):
    feats = extract(cnn, images, CNN_LAYERS, batch_size=4, progress=False)
    reference = cnn_reference(cnn, images)
    assert list(feats) == CNN_ORDER
    for layer, da in feats.items():
        validate(da)
        assert da.dims == ("presentation", "neuroid")
        assert da.dtype == np.float32
        assert da.shape == (10, reference[layer][0].numel())
        assert list(da.stimulus_id.values) == [str(i) for i in range(10)]
        assert da.attrs["modality"] == "model"
        assert da.attrs["model"] == "SmallCNN"
        assert da.attrs["layer"] == layer
        assert da.attrs["source"].endswith("SmallCNN")
        assert da.attrs["output_shape"] == list(reference[layer].shape[1:])
        np.testing.assert_allclose(da.values, reference[layer].flatten(1), **BATCH_TOLERANCE)


def test_one_batch_is_exact_and_batch_size_only_rounds(cnn, images):
    whole = extract(cnn, images, CNN_LAYERS, batch_size=10, progress=False)
    uneven = extract(cnn, images, CNN_LAYERS, batch_size=3, progress=False)
    reference = cnn_reference(cnn, images)
    for layer in CNN_ORDER:
        np.testing.assert_array_equal(whole[layer].values, reference[layer].flatten(1).numpy())
        np.testing.assert_allclose(uneven[layer].values, whole[layer].values, **BATCH_TOLERANCE)


def test_inputs_tensor_float64_sequence_and_transform_agree(cnn, images):
    expected = extract(cnn, images, "fc", progress=False)["fc"].values
    as_tensor = extract(cnn, torch.from_numpy(images), "fc", progress=False)
    as_float64 = extract(cnn, images.astype(np.float64), "fc", progress=False)
    channels_last = [image.transpose(1, 2, 0) for image in images]
    transformed = extract(
        cnn, channels_last, "fc", transform=lambda im: im.transpose(2, 0, 1), progress=False
    )
    for feats in (as_tensor, as_float64, transformed):
        np.testing.assert_allclose(feats["fc"].values, expected, rtol=1e-6, atol=1e-7)


def test_stimulus_ids_from_argument_or_stimulus_set(cnn, images):
    ids = [f"img_{i:02d}" for i in range(10)]
    from_set = extract(cnn, StimulusSetLike(images, np.array(ids)), "fc", progress=False)
    explicit = extract(cnn, images, "fc", stimulus_ids=ids, progress=False)
    assert list(from_set["fc"].stimulus_id.values) == ids
    assert list(explicit["fc"].stimulus_id.values) == ids


def test_mismatched_stimulus_ids_raise(cnn, images):
    with pytest.raises(DimensionError, match=r"'stimulus_ids' has 3 entries but 'stimuli' has 10"):
        extract(cnn, images, "fc", stimulus_ids=["a", "b", "c"], progress=False)


def test_pooling_options(cnn, images):
    reference = cnn_reference(cnn, images)
    for pool, reduce in (("mean", torch.mean), ("max", torch.amax)):
        feats = extract(cnn, images, ["conv1", "fc"], pool=pool, batch_size=4, progress=False)
        assert feats["conv1"].attrs["pool"] == pool
        np.testing.assert_allclose(
            feats["conv1"].values, reduce(reference["conv1"], dim=(2, 3)), **BATCH_TOLERANCE
        )
        # A 2-D output has no positions to pool over.
        np.testing.assert_allclose(feats["fc"].values, reference["fc"], **BATCH_TOLERANCE)
    custom = extract(cnn, images, "conv1", pool=lambda t: t[:, :, 0, 0], progress=False)
    np.testing.assert_allclose(
        custom["conv1"].values, reference["conv1"][:, :, 0, 0], **BATCH_TOLERANCE
    )


def test_pool_errors_name_the_options(cnn, images):
    with pytest.raises(
        ValueError, match=r"'pool' must be one of \['flatten', 'mean', 'max', 'cls'\]"
    ):
        extract(cnn, images, "conv1", pool="avg", progress=False)
    with pytest.raises(ValueError, match=r"pool='cls' needs a \(batch, tokens, features\)"):
        extract(cnn, images, "conv1", pool="cls", progress=False)


def test_unknown_layer_suggests_close_names(cnn, images):
    with pytest.raises(UnknownLayerError) as info:
        extract(cnn, images, ["conv1", "conv"], progress=False)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert "'conv' is not a module of SmallCNN" in message
    assert "Did you mean 'conv1'" in message
    assert "list_layers(model)" in message
    assert no_hooks(cnn)


def test_layer_that_does_not_run_raises(cnn, images):
    with pytest.raises(ValueError, match=r"\['unused'\] did not run"):
        extract(cnn, images, ["conv1", "unused"], progress=False)
    assert no_hooks(cnn)


def test_training_flags_hooks_and_statistics_restored_after_error(cnn, images):
    cnn.train()
    cnn.block.eval()  # mixed flags must come back as they were
    flags = {name: module.training for name, module in cnn.named_modules()}
    running_mean = cnn.bn1.running_mean.clone()
    seen = []
    calls = itertools.count()

    def fail_in_second_batch(module, inputs):
        seen.append((module.training, torch.is_grad_enabled()))
        if next(calls) == 1:
            raise RuntimeError("boom")

    handle = cnn.bn1.register_forward_pre_hook(fail_in_second_batch)
    with pytest.raises(RuntimeError, match="boom"):
        extract(cnn, images, CNN_LAYERS, batch_size=4, progress=False)
    handle.remove()
    assert seen == [(False, False), (False, False)]  # ran in eval mode without gradients
    assert {name: module.training for name, module in cnn.named_modules()} == flags
    assert no_hooks(cnn)
    torch.testing.assert_close(cnn.bn1.running_mean, running_mean, rtol=0, atol=0)


def test_module_called_twice_keeps_last_call_with_warning(rng):
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)
            self.act = nn.Tanh()

        def forward(self, x):
            return self.act(self.linear(self.act(x)))

    model = Shared()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    with pytest.warns(NeuroalignWarning, match="'act' ran 2 times"):
        feats = extract(model, x, "act", progress=False)
    with torch.no_grad():
        last = model.act(model.linear(model.act(torch.from_numpy(x))))
    np.testing.assert_array_equal(feats["act"].values, last.numpy())


def test_list_layers(cnn):
    table = list_layers(cnn)
    assert list(table.columns) == ["name", "type", "n_parameters"]
    assert "" not in set(table["name"])
    conv1 = table.set_index("name").loc["conv1"]
    assert conv1["type"] == "Conv2d" and conv1["n_parameters"] == 3 * 4 * 9 + 4
    assert table.set_index("name").loc["block", "n_parameters"] == 4 * 6 * 9 + 6
    cnn.train()
    shapes = list_layers(cnn, example_input=np.zeros((2, 3, 8, 8))).set_index("name")
    assert shapes.loc["conv1", "output_shape"] == (2, 4, 8, 8)
    assert shapes.loc["block", "output_shape"] == (2, 6, 3, 3)
    assert shapes.loc["fc", "output_shape"] == (2, 5)
    assert shapes.loc["unused", "output_shape"] is None
    assert cnn.training and no_hooks(cnn)


def test_store_streams_batches_and_matches_memory(cnn, images, tmp_path):
    path = tmp_path / "acts.zarr"
    written_before_next_batch = []

    def check_store(image):
        # Called for each stimulus; at the first of batch 2, batch 1 must be on disk.
        if len(written_before_next_batch) == 0 and path.exists() and (path / "fc").exists():
            stored = zarr.open_array(path / "fc" / "values", mode="r")[:4]
            written_before_next_batch.append(bool(np.isfinite(stored).all()))
        return image

    in_memory = extract(cnn, images, CNN_LAYERS, batch_size=4, progress=False)
    streamed = extract(
        cnn, images, CNN_LAYERS, batch_size=4, store=path, transform=check_store, progress=False
    )
    assert written_before_next_batch == [True]
    assert list(streamed) == CNN_ORDER
    loaded = load(path)
    for layer in CNN_ORDER:
        assert not streamed[layer].variable._in_memory  # lazily backed by the store
        assert streamed[layer].encoding["chunks"][0] == 4  # one chunk row per batch
        xr.testing.assert_identical(streamed[layer], in_memory[layer])
        xr.testing.assert_identical(loaded[layer], in_memory[layer])


def test_store_is_never_overwritten_and_removed_after_failure(cnn, images, tmp_path):
    existing = tmp_path / "existing.zarr"
    existing.mkdir()
    (existing / "keep.txt").write_text("data")
    with pytest.raises(FileExistsError, match="already exists"):
        extract(cnn, images, "fc", store=existing, progress=False)
    assert (existing / "keep.txt").read_text() == "data"

    calls = itertools.count()

    def fail_late(image):
        if next(calls) == 6:
            raise RuntimeError("boom")
        return image

    failed = tmp_path / "failed.zarr"
    with pytest.raises(RuntimeError, match="boom"):
        extract(cnn, images, "fc", store=failed, transform=fail_late, batch_size=4, progress=False)
    assert not failed.exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_model_is_moved_back(cnn, images, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    on_cpu = extract(cnn, images, CNN_LAYERS, device="cpu", progress=False)
    on_cuda = extract(cnn, images, CNN_LAYERS, device="cuda", progress=False)
    assert {p.device.type for p in cnn.parameters()} == {"cpu"}
    for layer in CNN_ORDER:
        # Different kernels on different hardware.
        np.testing.assert_allclose(
            on_cuda[layer].values, on_cpu[layer].values, rtol=1e-4, atol=1e-5
        )


# -- transformers models built from tiny configs (no download) ---------------------------


@pytest.fixture(scope="module")
def transformers():
    return pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def vit(transformers):
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=16,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
    )
    return transformers.ViTModel(config).eval()


@pytest.fixture
def pixels(rng):
    return rng.standard_normal((5, 3, 16, 16)).astype(np.float32)


def blocks_of(model, block_type):
    return [name for name, module in model.named_modules() if type(module).__name__ == block_type]


def test_vit_layers_match_hidden_states(vit, pixels):
    blocks = blocks_of(vit, "ViTLayer")
    feats = extract(
        vit, pixels, ["pooler", *blocks[::-1], "embeddings"], batch_size=2, progress=False
    )
    assert list(feats) == ["embeddings", *blocks, "pooler"]
    with torch.no_grad():
        out = vit(torch.from_numpy(pixels), output_hidden_states=True)
    for layer, hidden in zip(["embeddings", *blocks], out.hidden_states, strict=True):
        assert feats[layer].shape == (5, 5 * 16)  # 4 patches + CLS token, 16 features
        np.testing.assert_allclose(feats[layer].values, hidden.flatten(1), **BATCH_TOLERANCE)
    np.testing.assert_allclose(feats["pooler"].values, out.pooler_output, **BATCH_TOLERANCE)
    last = out.hidden_states[-1]
    for pool, expected in (("cls", last[:, 0]), ("mean", last.mean(1)), ("max", last.amax(1))):
        pooled = extract(vit, pixels, blocks[-1], pool=pool, batch_size=2, progress=False)
        np.testing.assert_allclose(pooled[blocks[-1]].values, expected, **BATCH_TOLERANCE)


def test_tuple_output_keeps_first_tensor(vit, pixels):
    attention = blocks_of(vit, "ViTLayer")[0] + ".attention"
    captured = {}
    handle = dict(vit.named_modules())[attention].register_forward_hook(
        lambda module, inputs, output: captured.update(first=output[0])
    )
    with torch.no_grad():
        vit(torch.from_numpy(pixels))
    handle.remove()
    feats = extract(vit, pixels, attention, batch_size=5, progress=False)
    np.testing.assert_array_equal(feats[attention].values, captured["first"].flatten(1).numpy())


def test_vit_from_pretrained_directory(vit, pixels, tmp_path, transformers):
    vit.save_pretrained(tmp_path)
    reloaded = transformers.ViTModel.from_pretrained(tmp_path)
    feats = extract(reloaded, pixels, "pooler", model_name="tiny-vit", progress=False)
    expected = extract(vit, pixels, "pooler", progress=False)
    np.testing.assert_array_equal(feats["pooler"].values, expected["pooler"].values)
    assert feats["pooler"].attrs["model"] == "tiny-vit"
    assert feats["pooler"].attrs["source"] == str(tmp_path)


VOCAB = {
    word: index
    for index, word in enumerate(
        ["[PAD]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "a", "dog"]
    )
}
MAX_TOKENS = 8
SENTENCES = ["the cat sat", "a dog sat on the mat", "the dog", "a cat sat on a mat", "the mat"]


def tokenize(sentence):
    """A hand-made tokenizer: word ids between [CLS] and [SEP], padded to MAX_TOKENS."""
    ids = [VOCAB["[CLS]"], *(VOCAB[word] for word in sentence.split()), VOCAB["[SEP]"]]
    padding = MAX_TOKENS - len(ids)
    return {
        "input_ids": torch.tensor(ids + [VOCAB["[PAD]"]] * padding),
        "attention_mask": torch.tensor([1] * len(ids) + [0] * padding),
    }


@pytest.fixture(scope="module")
def bert(transformers):
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=MAX_TOKENS,
    )
    return transformers.BertModel(config).eval()


def test_bert_with_tokenizing_transform(bert):
    blocks = blocks_of(bert, "BertLayer")
    tokens = [tokenize(sentence) for sentence in SENTENCES]
    batch = {key: torch.stack([t[key] for t in tokens]) for key in ("input_ids", "attention_mask")}
    with torch.no_grad():
        hidden = bert(**batch, output_hidden_states=True).hidden_states[1:]
    mask = batch["attention_mask"].unsqueeze(-1).float()
    flat = extract(bert, SENTENCES, blocks, transform=tokenize, batch_size=2, progress=False)
    mean = extract(
        bert,
        SENTENCES,
        blocks,
        stimulus_ids=SENTENCES,
        transform=tokenize,
        pool="mean",
        batch_size=2,
        progress=False,
    )
    assert list(flat) == blocks
    assert list(mean[blocks[0]].stimulus_id.values) == SENTENCES
    for layer, states in zip(blocks, hidden, strict=True):
        assert flat[layer].shape == (5, MAX_TOKENS * 16)
        np.testing.assert_allclose(flat[layer].values, states.flatten(1), **BATCH_TOLERANCE)
        # Mean over real tokens only: padding is left out.
        expected = (states * mask).sum(1) / mask.sum(1)
        np.testing.assert_allclose(mean[layer].values, expected, **BATCH_TOLERANCE)
    shapes = list_layers(bert, example_input=batch).set_index("name")
    assert shapes.loc[blocks[0], "output_shape"] == (5, MAX_TOKENS, 16)
