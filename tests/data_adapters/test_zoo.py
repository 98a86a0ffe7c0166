"""Model zoo: tiny transformers models from configs and local folders; word-pooled text.

References are the same models run by hand with ``output_hidden_states=True`` (the
output of transformer block ``k`` is ``hidden_states[k + 1]``); same inputs and batches,
so values agree to float32 rounding (rtol 1e-5, atol 1e-6); both run on the CPU. No
network access: every model is built from a config or saved to ``tmp_path`` first.
"""

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizerFast,
    GPT2Config,
    GPT2Model,
    ViTConfig,
    ViTImageProcessor,
    ViTModel,
)

from data_adapters.activations import extract
from data_adapters.zoo import extract_words, load_model
from neuroalign.exceptions import SchemaError, UnknownLayerError

TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
WORDS = ["the", "cat", "dog", "sat", "on", "mat", "a", "red", "##s", "##ed", "ran", "blue"]


@pytest.fixture(scope="module")
def tokenizer():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    assert tokenizer(["cats"], is_split_into_words=True)["input_ids"] == [2, 6, 13, 3]
    return tokenizer


def _tiny_vit():
    config = ViTConfig(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=16,
        patch_size=8,
    )
    torch.manual_seed(0)
    return ViTModel(config)


def test_vit_from_a_local_folder(tiny_world, tmp_path):
    _tiny_vit().save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(tmp_path)
    zoo = load_model(str(tmp_path))
    vit_layers = [n for n, m in _tiny_vit().named_modules() if type(m).__name__ == "ViTLayer"]
    assert zoo.blocks == vit_layers
    assert len(zoo.blocks) == 2
    images = tiny_world.stimuli.images[:6]
    layers = extract(
        zoo.module,
        images,
        zoo.blocks,
        transform=zoo.transform,
        pool="cls",
        device="cpu",
        progress=False,
    )
    inputs = torch.stack([zoo.transform(image) for image in images])
    with torch.no_grad():
        hidden = zoo.module(pixel_values=inputs, output_hidden_states=True).hidden_states
    for k, layer in enumerate(zoo.blocks):
        np.testing.assert_allclose(layers[layer].values, hidden[k + 1][:, 0].numpy(), **TOLERANCE)
    assert layers[zoo.blocks[0]].attrs["source"] == str(tmp_path)


def test_config_models_are_seeded():
    config = {
        "model_type": "vit",
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "image_size": 8,
        "patch_size": 4,
    }
    a, b = load_model(config=config, seed=3), load_model(config=config, seed=3)
    for (name, p), (_, q) in zip(a.module.named_parameters(), b.module.named_parameters()):
        assert torch.equal(p, q), name
    with pytest.raises(ValueError, match="'library' must be one of"):
        load_model("resnet18", library="torchhub")


def _word_reference(model, tokenizer, texts, layer_index, pool):
    rows = []
    for text in texts:
        words = text.split()
        encoded = tokenizer([words], is_split_into_words=True, return_tensors="pt")
        inputs = {key: encoded[key] for key in ("input_ids", "attention_mask")}
        with torch.no_grad():
            hidden = model(**inputs, output_hidden_states=True).hidden_states[layer_index + 1][0]
        word_ids = np.array([-1 if w is None else w for w in encoded.word_ids(0)])
        for j in range(len(words)):
            tokens = hidden[torch.from_numpy(word_ids == j)].numpy()
            rows.append(tokens.mean(0) if pool == "mean" else tokens[-1])
    return np.stack(rows)


TEXTS = ["the cats sat on a mat", "a red dog ran", "the blue cat rained"]


def test_bert_word_pooling(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
    )
    model = BertModel(config).eval()
    layers = extract_words(model, tokenizer, TEXTS, ["encoder.layer.1"], batch_size=2, device="cpu")
    words = layers["encoder.layer.1"]
    assert words.sizes["presentation"] == sum(len(t.split()) for t in TEXTS)
    assert words.word.values[:2].tolist() == ["the", "cats"]
    assert words.stimulus_id.values[0] == "0:0"
    np.testing.assert_allclose(
        words.values, _word_reference(model, tokenizer, TEXTS, 1, "mean"), **TOLERANCE
    )
    texts = extract_words(model, tokenizer, TEXTS, ["encoder.layer.1"], level="text", device="cpu")
    first = words.values[words.text_id.values == "0"].mean(0)
    np.testing.assert_allclose(texts["encoder.layer.1"].values[0], first, **TOLERANCE)
    with pytest.raises(UnknownLayerError, match="Did you mean 'encoder.layer.1'"):
        extract_words(model, tokenizer, TEXTS, ["encoder.layers.1"])


def test_gpt2_last_token_of_each_word(tokenizer):
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=16,
        n_layer=2,
        n_head=2,
        n_positions=32,
        bos_token_id=2,
        eos_token_id=3,
    )
    model = GPT2Model(config).eval()
    layers = extract_words(model, tokenizer, TEXTS, ["h.0"], pool="last", device="cpu")
    np.testing.assert_allclose(
        layers["h.0"].values, _word_reference(model, tokenizer, TEXTS, 0, "last"), **TOLERANCE
    )


def test_slow_tokenizer_is_refused(tokenizer):
    class Slow:
        is_fast = False

    with pytest.raises(SchemaError, match="fast tokenizer"):
        extract_words(torch.nn.Sequential(torch.nn.Linear(2, 2)), Slow(), ["a"], ["0"])
