"""Model zoos for :func:`data_adapters.activations.extract`, and text stimuli for language models.

:func:`load_model` builds a network and the per-stimulus ``transform`` that feeds it:
``transformers`` vision or text models from a config (random, seeded weights) or
``from_pretrained`` (a local folder, or a Hub id when the user is online), and
torchvision, timm and open_clip models when those packages are installed.
:func:`extract_words` runs a language model over texts and pools its token
activations into one vector per word (or per text).
"""

import dataclasses
import re

import numpy as np
import torch

from data_adapters.activations import _check_layers, _inference, _Recorder, _to_device
from neuroalign._backend import resolve_device
from neuroalign._optional import import_optional
from neuroalign._validation import check_option, check_positive_int
from neuroalign.data import activations
from neuroalign.exceptions import DimensionError, SchemaError

__all__ = ["ImageTransform", "TextTransform", "ZooModel", "extract_words", "load_model"]

LIBRARIES = ("transformers", "torchvision", "timm", "open_clip")
WORD_POOLS = ("mean", "first", "last")
LEVELS = ("word", "text")
_BLOCK = re.compile(r"\.(layer|layers|h|blocks|resblocks)\.\d+$")


@dataclasses.dataclass(frozen=True)
class ZooModel:
    """A network ready for :func:`~data_adapters.activations.extract`.

    Attributes
    ----------
    module : torch.nn.Module
    transform : callable or None
        Per-stimulus input preparation to pass as ``extract(..., transform=...)``.
    name : str
        Pass as ``model_name``.
    blocks : list of str
        Names of the repeated blocks (transformer layers, residual stages), shallow to
        deep: a good default for ``layers``.
    tokenizer : object or None
        The tokenizer of a text model (for :func:`extract_words`).
    """

    module: object
    transform: object
    name: str
    blocks: list
    tokenizer: object = None


class ImageTransform:
    """Image (H x W x C uint8/float, or C x H x W float in [0, 1]) → normalised C x S x S tensor.

    Parameters
    ----------
    size : int
        Output height and width (bilinear resize).
    mean, std : sequence of float
        Per-channel normalisation after scaling to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from data_adapters.zoo import ImageTransform
    >>> ImageTransform(8)(np.ones((3, 16, 16), np.float32)).shape
    torch.Size([3, 8, 8])
    """

    def __init__(self, size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
        self.size = int(size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, image):
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[0] not in (1, 3) and array.shape[-1] in (1, 3):
            array = array.transpose(2, 0, 1)
        if array.ndim != 3:
            raise DimensionError(
                f"ImageTransform needs one image of shape (3, H, W) or (H, W, 3); got "
                f"{array.shape}."
            )
        tensor = torch.as_tensor(array, dtype=torch.float32)
        if array.dtype == np.uint8:
            tensor = tensor / 255.0
        tensor = torch.nn.functional.interpolate(
            tensor[None], size=(self.size, self.size), mode="bilinear", align_corners=False
        )[0]
        mean = torch.tensor(self.mean)[:, None, None]
        std = torch.tensor(self.std)[:, None, None]
        return (tensor - mean) / std

    def __repr__(self):
        return f"ImageTransform(size={self.size}, mean={self.mean}, std={self.std})"


class TextTransform:
    """Text → ``input_ids`` and ``attention_mask`` padded to a fixed length (for ``extract``).

    Parameters
    ----------
    tokenizer : transformers tokenizer
    max_length : int
    """

    def __init__(self, tokenizer, max_length):
        self.tokenizer = tokenizer
        self.max_length = check_positive_int("max_length", max_length)

    def __call__(self, text):
        encoded = self.tokenizer(
            str(text),
            padding="max_length",
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {key: encoded[key][0] for key in ("input_ids", "attention_mask")}

    def __repr__(self):
        name = getattr(self.tokenizer, "name_or_path", type(self.tokenizer).__name__)
        return f"TextTransform(tokenizer={name!r}, max_length={self.max_length})"


def load_model(
    name=None,
    *,
    library="transformers",
    config=None,
    pretrained=True,
    max_length=32,
    seed=0,
    **kwargs,
):
    """Build a network of a model zoo and the transform that prepares its stimuli.

    Parameters
    ----------
    name : str, optional
        transformers: a local folder written by ``save_pretrained`` or a Hub id
        (downloaded by transformers when online); torchvision/timm/open_clip: the
        architecture name. Not needed with ``config``.
    library : {"transformers", "torchvision", "timm", "open_clip"}, default="transformers"
    config : dict, optional
        transformers only: a config as keywords, e.g. ``{"model_type": "vit",
        "hidden_size": 32, ...}``; the model gets random weights drawn with ``seed``.
    pretrained : bool, default=True
        torchvision/timm/open_clip: load the published weights (``open_clip``: pass the
        tag as ``pretrained="openai"``).
    max_length : int, default=32
        Token length of the text transform.
    seed : int, default=0
        Seed of random weights (``config``, or ``pretrained=False``).
    **kwargs
        Passed to the library's constructor (e.g. ``torch_dtype``, ``device_map``).

    Returns
    -------
    model : ZooModel

    Examples
    --------
    >>> from data_adapters.zoo import load_model
    >>> vit = load_model(config={"model_type": "vit", "hidden_size": 8, "num_hidden_layers": 2,
    ...     "num_attention_heads": 2, "intermediate_size": 16, "image_size": 8, "patch_size": 4})
    >>> vit.blocks
    ['layers.0', 'layers.1']
    """
    check_option("library", library, LIBRARIES)
    if config is None and name is None:
        raise ValueError("Pass 'name' (a model name, folder or Hub id) or 'config'.")
    torch.manual_seed(seed)
    if library == "transformers":
        return _transformers(name, config, max_length, kwargs)
    if config is not None:
        raise ValueError(f"'config' is for library='transformers'; got library={library!r}.")
    if library == "torchvision":
        models = import_optional("torchvision.models", extra="models", feature="torchvision")
        weights = models.get_model_weights(name).DEFAULT if pretrained else None
        module = models.get_model(name, weights=weights, **kwargs)
        transform = weights.transforms() if weights is not None else ImageTransform(224)
    elif library == "timm":
        timm = import_optional("timm", extra="models", feature="timm models")
        module = timm.create_model(name, pretrained=pretrained, **kwargs)
        data_config = timm.data.resolve_data_config({}, model=module)
        transform = timm.data.create_transform(**data_config)
    else:
        open_clip = import_optional("open_clip", extra="models", feature="open_clip models")
        tag = pretrained if isinstance(pretrained, str) else None
        clip, _, transform = open_clip.create_model_and_transforms(name, pretrained=tag, **kwargs)
        module = clip.visual
    return ZooModel(module, transform, f"{library}:{name}", _blocks(module))


def _transformers(name, config, max_length, kwargs):
    transformers = import_optional("transformers", extra="models", feature="transformers models")
    if config is not None:
        config = dict(config)
        if "model_type" not in config:
            raise ValueError("'config' needs a 'model_type' key, e.g. 'vit', 'bert' or 'gpt2'.")
        cfg = transformers.AutoConfig.for_model(config.pop("model_type"), **config)
        module = transformers.AutoModel.from_config(cfg, **kwargs)
        label = f"transformers:{cfg.model_type}-config"
        processor = tokenizer = None
    else:
        module = transformers.AutoModel.from_pretrained(name, **kwargs)
        cfg, label = module.config, f"transformers:{name}"
        processor = _try(transformers.AutoImageProcessor, name)
        tokenizer = _try(transformers.AutoTokenizer, name)
    if hasattr(cfg, "image_size"):
        if processor is not None:
            mean = getattr(processor, "image_mean", None) or (0.5, 0.5, 0.5)
            std = getattr(processor, "image_std", None) or (0.5, 0.5, 0.5)
            transform = ImageTransform(cfg.image_size, mean, std)
        else:
            transform = ImageTransform(cfg.image_size)
    elif tokenizer is not None:
        transform = TextTransform(tokenizer, max_length)
    else:
        transform = None
    return ZooModel(module, transform, label, _blocks(module), tokenizer)


def _try(loader, name):
    """A processor/tokenizer saved with the model, or None when the folder has none."""
    try:
        return loader.from_pretrained(name)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _blocks(module):
    return [name for name, _ in module.named_modules() if _BLOCK.search("." + name)]


def extract_words(
    model,
    tokenizer,
    texts,
    layers,
    *,
    text_ids=None,
    pool="mean",
    level="word",
    batch_size=16,
    device="auto",
    model_name=None,
):
    """Language-model activations per word (tokens pooled) or per text.

    Each text is split on whitespace into words; the tokenizer (a fast tokenizer,
    which maps tokens to words) splits words into tokens, and each layer's token
    vectors are pooled into one vector per word.

    Parameters
    ----------
    model : torch.nn.Module
        A transformers text model (encoder or decoder).
    tokenizer : transformers.PreTrainedTokenizerFast
    texts : sequence of str of length n_texts
    layers : str or sequence of str
        Module names, e.g. ``ZooModel.blocks``.
    text_ids : sequence of str, optional
        Default ``"0" .. "n_texts-1"``.
    pool : {"mean", "first", "last"}, default="mean"
        How a word's token vectors become one (``"last"`` suits causal models, whose
        last token of a word has seen the whole word).
    level : {"word", "text"}, default="word"
        ``"text"`` averages the word vectors of each text.
    batch_size : int, default=16
    device : str, default="auto"
    model_name : str, optional

    Returns
    -------
    layers : dict of str to xarray.DataArray
        ``level="word"``: one row per word with ``stimulus_id`` ``"<text_id>:<j>"`` and
        presentation coords ``text_id``, ``word``, ``word_index``; ``level="text"``: one
        row per text with ``stimulus_id = text_id``. Shape (n_rows, hidden_size).

    Raises
    ------
    UnknownLayerError
        A layer name that is not a module of the model.
    SchemaError
        A slow tokenizer (no token→word map) or a text whose words were cut off.
    """

    layers = _check_layers(model, layers)
    check_option("pool", pool, WORD_POOLS)
    check_option("level", level, LEVELS)
    batch_size = check_positive_int("batch_size", batch_size)
    if not getattr(tokenizer, "is_fast", False):
        raise SchemaError(
            "'tokenizer' must be a fast tokenizer (tokenizer.is_fast), which maps tokens "
            "to words; load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
        )
    texts = [str(t) for t in texts]
    text_ids = [str(i) for i in range(len(texts))] if text_ids is None else list(text_ids)
    if len(text_ids) != len(texts):
        raise DimensionError(
            f"'text_ids' has {len(text_ids)} entries for {len(texts)} texts; give one per text."
        )
    rows = {layer: [] for layer in layers}
    labels = []

    def keep(layer, tensor, mask):
        return tensor.detach().to("cpu", torch.float32).numpy()

    with (
        _inference(model, resolve_device(device)) as (run_device, _),
        _Recorder(model, layers, keep) as recorder,
    ):
        for start in range(0, len(texts), batch_size):
            words = [text.split() for text in texts[start : start + batch_size]]
            encoded = tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
            batch = {k: encoded[k] for k in ("input_ids", "attention_mask")}
            outputs, _ = recorder.run(_to_device(batch, run_device, None))
            for item, item_words in enumerate(words):
                index = start + item
                word_ids = np.array([-1 if w is None else w for w in encoded.word_ids(item)])
                found = sorted(set(word_ids[word_ids >= 0]))
                if found != list(range(len(item_words))):
                    raise SchemaError(
                        f"Text {text_ids[index]!r}: the tokenizer kept words {len(found)} of "
                        f"{len(item_words)}; shorten the text."
                    )
                for layer in layers:
                    hidden = outputs[layer][0][item]
                    vectors = np.stack([_pool_tokens(hidden[word_ids == j], pool) for j in found])
                    rows[layer].append(
                        vectors.mean(0, keepdims=True) if level == "text" else vectors
                    )
                if level == "text":
                    labels.append((text_ids[index], texts[index], -1))
                else:
                    labels += [(text_ids[index], w, j) for j, w in enumerate(item_words)]
    ids = [t if level == "text" else f"{t}:{j}" for t, _, j in labels]
    coords = None
    if level == "word":
        coords = {
            "text_id": np.array([t for t, _, _ in labels]),
            "word": np.array([w for _, w, _ in labels]),
            "word_index": np.array([j for _, _, j in labels]),
        }
    name = model_name or type(model).__name__
    result = {}
    for layer in layers:
        da = activations(np.concatenate(rows[layer]), ids, model=name, layer=layer)
        if coords is not None:
            da = da.assign_coords({k: ("presentation", v) for k, v in coords.items()})
        da.attrs.update(pool=f"words:{pool}", level=level)
        result[layer] = da
    return result


def _pool_tokens(vectors, pool):
    if pool == "mean":
        return vectors.mean(0)
    return vectors[0] if pool == "first" else vectors[-1]
