"""Network activations as response matrices: run a torch model with forward hooks.

:func:`extract` runs any :class:`torch.nn.Module` over a set of stimuli once, with a
forward hook on every requested layer, and returns one DataArray per layer in the
neuroalign schema (see DESIGN.md §1). :func:`list_layers` lists the names to ask for.
"""

import contextlib
import functools
import itertools
import json
import logging
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
import zarr
from tqdm.auto import tqdm

from data_adapters import cache
from data_adapters.reduce import make_reducer
from neuroalign._backend import resolve_device
from neuroalign._validation import check_option, check_positive_int, close_matches_hint
from neuroalign.data import activations
from neuroalign.data._io import LAYER_ORDER_ATTR, from_dataset, to_dataset
from neuroalign.exceptions import (
    DimensionError,
    NeuroalignWarning,
    SchemaError,
    UnknownLayerError,
)

__all__ = ["extract", "list_layers"]

logger = logging.getLogger("neuroalign")

POOLS = ("flatten", "mean", "max", "cls")
# Rows of one zarr chunk are one batch; its columns are capped at about 16 MB of float32.
_CHUNK_VALUES = 4_000_000


def extract(
    model,
    stimuli,
    layers,
    *,
    stimulus_ids=None,
    batch_size=32,
    device="auto",
    transform=None,
    pool="flatten",
    store=None,
    model_name=None,
    reduce=None,
    cache_dir=None,
    preprocessing=None,
    progress=True,
):
    """Run a network over stimuli and collect the activations of several layers.

    The model runs once per batch, in eval mode and under :func:`torch.no_grad`, with a
    forward hook on every requested layer. Afterwards the hooks are removed and every
    submodule's training flag and the model's device are restored, also when an error
    interrupts the run.

    Parameters
    ----------
    model : torch.nn.Module
        Any network, e.g. a torchvision model or a ``transformers`` model (also one
        loaded with ``from_pretrained``).
    stimuli : array-like of shape (n_stimuli, ...), sequence of length n_stimuli, or stimulus set
        Model inputs: a numpy array or tensor whose rows are inputs; or a sequence of
        items (PIL images, strings, ...) that ``transform`` turns into tensors; or an
        object with ``images`` and ``stimulus_ids`` attributes, such as the synthetic
        world's ``StimulusSet``.
    layers : str or sequence of str
        Names of modules as in ``model.named_modules()``; see :func:`list_layers`.
    stimulus_ids : sequence of str or int of length n_stimuli, optional
        Default: ``stimuli.stimulus_ids`` if it exists, else ``"0" .. "n_stimuli-1"``.
    batch_size : int, default=32
        Stimuli per forward pass; the last batch may be smaller.
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, default="auto"
        Where the model runs (``"auto"``: CUDA when available). The model is moved
        there for the run and moved back afterwards. A model spread over several
        devices (e.g. loaded with ``device_map``) is left in place and its inputs go to
        the device of its first parameter.
    transform : callable, optional
        Applied to each stimulus; returns the input for one stimulus, without a batch
        dimension: a tensor or array, or a dict of them (e.g. ``input_ids`` and
        ``attention_mask`` from a tokenizer with fixed-length padding). Results are
        stacked into a batch; a dict batch is passed as ``model(**batch)``, anything
        else as ``model(batch)``. Floating-point inputs are cast to the dtype of the
        model's parameters.
    pool : {"flatten", "mean", "max", "cls"} or callable, default="flatten"
        How a layer output of shape (batch, ...) becomes (batch, n_units). Outputs of
        shape ``(batch, channels, *spatial)`` (4-D and more) are pooled over the spatial
        dims; 3-D outputs are read as (batch, tokens, features) and pooled over tokens
        (positions where a batch's ``attention_mask`` is 0 are left out). ``"flatten"``
        keeps every value, ``"mean"`` and ``"max"`` reduce over positions, ``"cls"``
        keeps the first token of 3-D outputs. 2-D outputs are kept as they are. A
        callable receives the output tensor and returns one of shape (batch, n_units).
    store : str or path-like, optional
        A new zarr directory store (it must not exist). Each layer is written to it
        batch by batch, so memory holds one batch at a time, and the returned arrays
        read lazily from it. ``neuroalign.data.load(store, format="zarr")`` loads it
        again. If the run fails, the store is removed.
    model_name : str, optional
        Stored as ``attrs["model"]``; default: the model's class name.
    reduce : dict, optional
        Reduce every layer on the fly, batch by batch, before it is stored:
        ``{"method": "sparse_random_projection" | "pca", "n_components": k, "seed": 0,
        "n_fit": 1000}`` (see :mod:`data_adapters.reduce`; PCA runs a first pass over
        a seeded subset of ``n_fit`` stimuli). Stored as ``attrs["reduce"]`` (JSON).
    cache_dir : str or path-like, optional
        Reuse activations across runs: the result is stored in
        ``<cache_dir>/<key>.zarr``, where ``key`` hashes the weights, the model class,
        the layers, the stimulus ids and contents, ``transform`` (its qualified name and
        ``repr``), ``pool``, ``reduce``, ``model_name`` and ``preprocessing``. A later
        call with the same key reads the store (lazily) without running the model.
        Stores are written under a temporary name and renamed when complete, so an
        interrupted run leaves no partial entry. Not combined with ``store``.
    preprocessing : dict or str, optional
        Extra description of how stimuli were prepared that ``transform``'s ``repr``
        does not show (e.g. ``{"resize": 224, "normalize": "imagenet"}``); part of the
        cache key.
    progress : bool, default=True
        Show a progress bar.

    Returns
    -------
    layers : dict of str to xarray.DataArray
        One entry per layer, ordered shallow to deep (the order in which the layers
        first run in the forward pass). Each has dims ``("presentation", "neuroid")``,
        shape (n_stimuli, n_units), float32 values on the CPU, coordinates
        ``stimulus_id`` and ``neuroid_id`` and attrs ``modality="model"``, ``model``,
        ``layer``, ``source`` (the ``from_pretrained`` path or the model class),
        ``pool`` and ``output_shape`` (the shape of one stimulus' layer output before
        pooling, to undo ``"flatten"``).

    Raises
    ------
    UnknownLayerError
        If a name in ``layers`` is not a module of ``model``; the message suggests close names.
    TypeError
        If ``model`` is not a module or a stimulus cannot be turned into a tensor.
    DimensionError
        If ``stimulus_ids`` and ``stimuli`` differ in length, or a layer output does not
        keep the batch dimension first or changes size between batches.
    SchemaError
        If a layer gives NaN or infinite activations.
    ValueError
        If ``pool`` is unknown or does not fit a layer output, or a layer does not run.
    FileExistsError
        If ``store`` already exists.

    Warns
    -----
    NeuroalignWarning
        If a layer runs more than once in one forward pass.

    Notes
    -----
    When a layer returns a tuple, a list, a dict or a ``transformers`` ``ModelOutput``,
    its first tensor is kept (e.g. the hidden states of an attention block, not the
    attention weights). A module called several times in one forward pass (e.g. a
    shared activation function) keeps the output of its last call.

    See Also
    --------
    list_layers : the layer names, types, sizes and output shapes of a model.
    neuroalign.data.activations : the schema constructor used for each layer.
    neuroalign.data.load : load a ``store`` written here.

    Examples
    --------
    >>> import torch
    >>> from data_adapters.activations import extract
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> feats = extract(net, torch.rand(10, 3, 8, 8), ["0", "1"], pool="mean", progress=False)
    >>> list(feats), feats["0"].shape
    (['0', '1'], (10, 4))
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"'model' must be a torch.nn.Module; got {type(model).__name__}.")
    layers = _check_layers(model, layers)
    if not callable(pool):
        check_option("pool", pool, POOLS)
    batch_size = check_positive_int("batch_size", batch_size)
    reducer = make_reducer(reduce)
    items, ids = _resolve_stimuli(stimuli, stimulus_ids)
    meta = {
        "model": model_name or type(model).__name__,
        "source": _source_of(model),
        "pool": pool if isinstance(pool, str) else getattr(pool, "__name__", repr(pool)),
        "reduce": None if reducer is None else json.dumps(reducer.spec()),
    }
    run = functools.partial(
        _run,
        model,
        items,
        ids,
        layers,
        pool=pool,
        batch_size=batch_size,
        device=device,
        transform=transform,
        meta=meta,
        reducer=reducer,
        progress=progress,
    )
    if cache_dir is None:
        return run(store=store)
    if store is not None:
        raise ValueError(
            "Pass either 'store' or 'cache_dir', not both; the cache names its own stores."
        )
    description = {
        "transform": None if transform is None else _describe(transform),
        "meta": meta,
        "preprocessing": preprocessing,
    }
    key = cache.activation_key(model, items, ids, layers, preprocessing=description)
    final = cache.cache_path(cache_dir, key)
    if final.exists():
        logger.info("Reading cached activations from %s.", final)
        return _open_store(final)
    partial = cache.temporary_path(cache_dir, key)
    run(store=partial)
    return _open_store(cache.commit(partial, final))


def _run(
    model,
    items,
    ids,
    layers,
    *,
    pool,
    batch_size,
    device,
    transform,
    store,
    meta,
    reducer,
    progress,
):
    """The extraction loop of :func:`extract` (arguments already validated)."""
    n_stimuli = len(ids)
    target = resolve_device(device)
    sink = _MemorySink(ids, meta) if store is None else _ZarrSink(store, ids, meta, batch_size)
    logger.info(
        "Extracting %d layer(s) of %s for %d stimuli on %s in batches of %d.",
        len(layers),
        meta["model"],
        n_stimuli,
        target,
        batch_size,
    )
    try:
        with (
            _inference(model, target) as (run_device, input_dtype),
            _Recorder(model, layers, _pooler(pool)) as recorder,
            tqdm(total=n_stimuli, desc=meta["model"], unit="stimulus", disable=not progress) as bar,
        ):
            if reducer is not None and reducer.needs_fit:
                fit_rows = reducer.fit_rows(n_stimuli)
                for start in range(0, len(fit_rows), batch_size):
                    rows = fit_rows[start : start + batch_size]
                    batch = _to_device(_collate(items, rows, transform), run_device, input_dtype)
                    for layer, (block, _) in recorder.run(batch)[0].items():
                        reducer.partial_fit(layer, block)
                reducer.finish_fit()
            for start in range(0, n_stimuli, batch_size):
                rows = slice(start, min(start + batch_size, n_stimuli))
                batch = _to_device(_collate(items, rows, transform), run_device, input_dtype)
                outputs, calls = recorder.run(batch)
                if start == 0:
                    order = list(outputs)
                    for layer in (layer for layer in order if calls[layer] > 1):
                        warnings.warn(
                            f"Layer {layer!r} ran {calls[layer]} times in one forward pass; "
                            "keeping the output of its last call.",
                            NeuroalignWarning,
                            stacklevel=2,
                        )
                for layer, (block, output_shape) in outputs.items():
                    if reducer is not None:
                        block = reducer.transform(layer, block)
                    sink.write(layer, rows, _check_block(layer, block, rows, sink), output_shape)
                bar.update(rows.stop - rows.start)
        return sink.finish(order)
    except BaseException:
        sink.discard()
        raise


def list_layers(model, *, example_input=None):
    """List the named modules of a network, to choose layers for :func:`extract`.

    Parameters
    ----------
    model : torch.nn.Module
    example_input : tensor, array or dict of tensors, optional
        One batch of model inputs (a dict is passed as ``model(**example_input)``). When
        given, the model runs on it once (eval mode, no gradients, on the model's
        current device) and an ``output_shape`` column is added.

    Returns
    -------
    layers : pandas.DataFrame
        One row per named module except the model itself, in registration order, with
        columns ``name`` (what :func:`extract` accepts), ``type`` (class name),
        ``n_parameters`` (including submodules) and, with ``example_input``,
        ``output_shape`` (a tuple including the batch dimension, of the first tensor the
        module returns; ``None`` if it did not run).

    See Also
    --------
    extract

    Examples
    --------
    >>> import torch
    >>> from data_adapters.activations import list_layers
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    >>> list_layers(net, example_input=torch.zeros(2, 4))
      name    type  n_parameters output_shape
    0    0  Linear            15       (2, 3)
    1    1    ReLU             0       (2, 3)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"'model' must be a torch.nn.Module; got {type(model).__name__}.")
    modules = [(name, module) for name, module in model.named_modules() if name]
    table = pd.DataFrame(
        {
            "name": [name for name, _ in modules],
            "type": [type(module).__name__ for _, module in modules],
            "n_parameters": [sum(p.numel() for p in module.parameters()) for _, module in modules],
        }
    )
    if example_input is not None:
        names = list(table["name"])
        with (
            _inference(model, None) as (run_device, input_dtype),
            _Recorder(
                model, names, lambda layer, tensor, mask: tuple(tensor.shape), strict=False
            ) as recorder,
        ):
            shapes, _ = recorder.run(_to_device(_as_input(example_input), run_device, input_dtype))
        table["output_shape"] = [shapes[name][0] if name in shapes else None for name in names]
    return table


def _check_layers(model, layers):
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("'layers' is empty; pass at least one name from list_layers(model).")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(
                f"'layers' must be a str or a sequence of str; got an entry {name!r} of type "
                f"{type(name).__name__}."
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"'layers' lists {repeated} more than once; give each layer once.")
    known = [name for name, _ in model.named_modules() if name]
    unknown = [name for name in names if name not in known]
    if unknown:
        problems = " ".join(
            f"{name!r} is not a module of {type(model).__name__}.{close_matches_hint(name, known)}"
            for name in unknown
        )
        raise UnknownLayerError(
            f"'layers': {problems} See data_adapters.activations.list_layers(model) for all "
            "layer names."
        )
    return names


def _resolve_stimuli(stimuli, stimulus_ids):
    """The indexable inputs and the validated, normalised stimulus ids."""
    items = stimuli
    if hasattr(stimuli, "images") and hasattr(stimuli, "stimulus_ids"):
        items = stimuli.images
        stimulus_ids = stimuli.stimulus_ids if stimulus_ids is None else stimulus_ids
    if isinstance(items, (str, bytes)) or not (
        hasattr(items, "__len__") and hasattr(items, "__getitem__")
    ):
        raise TypeError(
            "'stimuli' must be an array or tensor of shape (n_stimuli, ...), a sequence of "
            f"stimuli or an object with 'images' and 'stimulus_ids'; got {type(items).__name__}."
        )
    n_stimuli = len(items)
    if n_stimuli == 0:
        raise ValueError("'stimuli' is empty; pass at least one stimulus.")
    if stimulus_ids is None:
        stimulus_ids = [str(i) for i in range(n_stimuli)]
    if len(stimulus_ids) != n_stimuli:
        raise DimensionError(
            f"'stimulus_ids' has {len(stimulus_ids)} entries but 'stimuli' has {n_stimuli}; "
            "pass one id per stimulus."
        )
    # Validate and normalise the ids before any forward pass; zero units leave no values to check.
    empty = activations(np.zeros((n_stimuli, 0), np.float32), stimulus_ids, model="", layer="")
    return items, empty["stimulus_id"].values


def _source_of(model):
    """Where the weights came from: the ``from_pretrained`` path, else the model class."""
    path = getattr(getattr(model, "config", None), "_name_or_path", None)
    return str(path) if path else f"{type(model).__module__}.{type(model).__qualname__}"


@contextlib.contextmanager
def _inference(model, device):
    """Eval mode, no gradients and the model on ``device`` (None: where it is).

    Yields the device inputs must go to and the floating dtype of the model's
    parameters. On exit each submodule's training flag and the model's device are
    restored, also after an error.
    """
    flags = [(module, module.training) for module in model.modules()]
    devices = {tensor.device for tensor in _tensors(model)}
    if len(devices) > 1:
        logger.info("The model spans several devices; it stays where it is.")
    home = next(iter(devices)) if len(devices) == 1 and device is not None else None
    try:
        if home is not None:
            model.to(device)
        model.eval()
        run_device = next((t.device for t in _tensors(model)), device or torch.device("cpu"))
        dtype = next((t.dtype for t in _tensors(model) if t.is_floating_point()), None)
        with torch.no_grad():
            yield run_device, dtype
    finally:
        for module, training in flags:
            module.training = training
        if home is not None:
            model.to(home)


def _tensors(model):
    return itertools.chain(model.parameters(), model.buffers())


class _Recorder:
    """Forward hooks on several layers at once; removed on exit, also after an error.

    ``reduce(layer, tensor, mask)`` turns the first tensor a layer returns into what is
    kept. :meth:`run` returns the kept values in the order the layers first ran, and
    how often each ran.
    """

    def __init__(self, model, layers, reduce, *, strict=True):
        self.model = model
        self.layers = layers
        self.reduce = reduce
        self.strict = strict

    def __enter__(self):
        modules = dict(self.model.named_modules())
        self.handles = [
            modules[layer].register_forward_hook(self._hook(layer)) for layer in self.layers
        ]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        return False

    def _hook(self, layer):
        def hook(module, inputs, output):
            tensor = _first_tensor(output)
            if tensor is None:
                if self.strict:
                    raise ValueError(
                        f"Layer {layer!r} returned {type(output).__name__}, which holds no "
                        "tensor; choose another layer (see list_layers(model))."
                    )
                return
            self.outputs[layer] = (self.reduce(layer, tensor, self.mask), tuple(tensor.shape[1:]))
            self.calls[layer] = self.calls.get(layer, 0) + 1

        return hook

    def run(self, batch):
        self.outputs, self.calls = {}, {}
        self.mask = batch.get("attention_mask") if isinstance(batch, Mapping) else None
        if isinstance(batch, Mapping):
            self.model(**batch)
        else:
            self.model(batch)
        missing = [layer for layer in self.layers if layer not in self.outputs]
        if self.strict and missing:
            raise ValueError(
                f"Layer(s) {missing} did not run in the forward pass of "
                f"{type(self.model).__name__}, so they have no activations; choose layers "
                "that the model's forward calls (list_layers(model, example_input=...) shows "
                "which ran)."
            )
        return self.outputs, self.calls


def _first_tensor(output):
    """The first tensor in a layer output (tensor, tuple, list, dict or ModelOutput)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        for item in output:
            tensor = _first_tensor(item)
            if tensor is not None:
                return tensor
    return None


def _pooler(pool):
    """``reduce(layer, tensor, mask)`` for :class:`_Recorder`: pooled float32 numpy on the CPU."""

    def reduce(layer, tensor, mask):
        pooled = pool(tensor) if callable(pool) else _pool(layer, tensor, pool, mask)
        return pooled.detach().to("cpu", torch.float32).numpy()

    return reduce


def _pool(layer, tensor, pool, mask):
    if tensor.ndim == 0:
        raise DimensionError(
            f"Layer {layer!r} returned a scalar; it has no batch dimension to extract."
        )
    if pool == "flatten" or tensor.ndim <= 2:
        return tensor.reshape(tensor.shape[0], -1)
    if pool == "cls":
        if tensor.ndim != 3:
            raise ValueError(
                f"pool='cls' needs a (batch, tokens, features) output, but layer {layer!r} "
                f"returned shape {tuple(tensor.shape)}; use pool='mean', 'max' or 'flatten'."
            )
        return tensor[:, 0]
    if tensor.ndim >= 4:
        positions = tuple(range(2, tensor.ndim))
        return tensor.mean(positions) if pool == "mean" else tensor.amax(positions)
    if mask is not None and mask.shape == tensor.shape[:2]:
        keep = mask.to(torch.bool).unsqueeze(-1)
        if pool == "mean":
            return (tensor * keep).sum(1) / keep.sum(1).clamp(min=1)
        return tensor.masked_fill(~keep, -torch.inf).amax(1)
    return tensor.mean(1) if pool == "mean" else tensor.amax(1)


def _collate(items, rows, transform):
    """One batch of model inputs: a tensor, or a dict of tensors."""
    if transform is None and isinstance(items, (np.ndarray, torch.Tensor)):
        return _as_input(items[rows])
    indices = range(rows.start, rows.stop) if isinstance(rows, slice) else rows
    inputs = []
    for index in indices:
        item = items[index] if transform is None else transform(items[index])
        inputs.append(_as_input(item, f"stimulus {index}"))
    try:
        if isinstance(inputs[0], Mapping):
            return {key: torch.stack([item[key] for item in inputs]) for key in inputs[0]}
        return torch.stack(inputs)
    except (RuntimeError, KeyError) as err:
        raise ValueError(
            f"Stimuli {indices[0]}..{indices[-1]} cannot be stacked into one batch ({err}). "
            "Make 'transform' return inputs of one shape and, for dicts, the same keys "
            "(resize or crop images, pad tokens to a fixed length)."
        ) from err


def _as_input(value, what="'example_input'"):
    """A tensor (or dict of tensors) from a tensor, an array or a dict of them."""
    if isinstance(value, Mapping):
        return {key: _as_input(item, f"{what}[{key!r}]") for key, item in value.items()}
    if isinstance(value, torch.Tensor):
        return value
    array = np.array(value)  # a copy: never share (possibly read-only) caller memory
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} is a {type(value).__name__}, which is not a numeric tensor or array; "
            "pass a 'transform' that turns each stimulus into a tensor or a dict of tensors."
        )
    return torch.from_numpy(array)


def _to_device(batch, device, dtype):
    if isinstance(batch, Mapping):
        return {key: _to_device(value, device, dtype) for key, value in batch.items()}
    if dtype is not None and batch.is_floating_point():
        return batch.to(device=device, dtype=dtype)
    return batch.to(device)


def _check_block(layer, block, rows, sink):
    n_rows = rows.stop - rows.start
    if block.ndim != 2 or block.shape[0] != n_rows:
        raise DimensionError(
            f"Layer {layer!r} gave shape {block.shape} for a batch of {n_rows} stimuli after "
            "pooling; expected (batch, n_units). Its output may not have the batch "
            "dimension first; choose another layer or pass a callable 'pool'."
        )
    expected = sink.n_units(layer)
    if expected is not None and block.shape[1] != expected:
        raise DimensionError(
            f"Layer {layer!r} gave {block.shape[1]} units for stimuli {rows.start}.."
            f"{rows.stop - 1} but {expected} before. Inputs of varying size (e.g. tokens "
            "padded per batch) need pool='mean', 'max' or 'cls', or inputs of one size."
        )
    if not np.isfinite(block).all():
        raise SchemaError(
            f"Layer {layer!r} has NaN or infinite activations for stimuli {rows.start}.."
            f"{rows.stop - 1}; check the inputs and the model's weights."
        )
    return block


def _layer_array(values, stimulus_ids, layer, meta, output_shape):
    """One layer in the neuroalign schema, with extraction provenance in attrs."""
    da = activations(values, stimulus_ids, model=meta["model"], layer=layer, source=meta["source"])
    da.attrs.update(pool=meta["pool"], output_shape=list(output_shape))
    if meta["reduce"] is not None:
        da.attrs["reduce"] = meta["reduce"]
    return da


class _MemorySink:
    """Fills one preallocated (n_stimuli, n_units) array per layer."""

    def __init__(self, stimulus_ids, meta):
        self.ids = stimulus_ids
        self.meta = meta
        self.arrays = {}
        self.shapes = {}

    def n_units(self, layer):
        return self.arrays[layer].shape[1] if layer in self.arrays else None

    def write(self, layer, rows, block, output_shape):
        if layer not in self.arrays:
            self.arrays[layer] = np.empty((len(self.ids), block.shape[1]), np.float32)
            self.shapes[layer] = output_shape
        self.arrays[layer][rows] = block

    def finish(self, order):
        return {
            layer: _layer_array(self.arrays[layer], self.ids, layer, self.meta, self.shapes[layer])
            for layer in order
        }

    def discard(self):
        self.arrays.clear()


class _ZarrSink:
    """Writes each layer batch by batch to a zarr store in the layout of neuroalign.data.save."""

    def __init__(self, path, stimulus_ids, meta, batch_size):
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(
                f"'store' {str(self.path)!r} already exists; remove it or pass a new path."
            )
        self.ids = stimulus_ids
        self.meta = meta
        self.batch_size = batch_size
        self.arrays = {}
        self.root = zarr.open_group(self.path, mode="w-", zarr_format=2)

    def n_units(self, layer):
        return self.arrays[layer].shape[1] if layer in self.arrays else None

    def write(self, layer, rows, block, output_shape):
        if layer not in self.arrays:
            self.arrays[layer] = self._create(layer, block, rows, output_shape)
        self.arrays[layer][rows] = block

    def _create(self, layer, block, rows, output_shape):
        # Coordinates and attrs come from the schema constructor on the first batch;
        # the values array is sized for all stimuli and filled as batches arrive.
        first = to_dataset(_layer_array(block, self.ids[rows], layer, self.meta, output_shape))
        layout = first.drop_vars(["values", "stimulus_id"]).assign_coords(
            stimulus_id=("presentation", self.ids)
        )
        layout.to_zarr(self.path, group=layer, mode="w-", zarr_format=2, consolidated=False)
        n_units = block.shape[1]
        return self.root[layer].create_array(
            "values",
            shape=(len(self.ids), n_units),
            chunks=(self.batch_size, max(1, min(n_units, _CHUNK_VALUES // self.batch_size))),
            dtype="float32",
            fill_value=np.nan,
            attributes={**first["values"].attrs, "_ARRAY_DIMENSIONS": ["presentation", "neuroid"]},
        )

    def finish(self, order):
        self.root.attrs[LAYER_ORDER_ATTR] = json.dumps(order)
        zarr.consolidate_metadata(self.path)
        return _open_store(self.path)

    def discard(self):
        shutil.rmtree(self.path, ignore_errors=True)


def _open_store(path):
    """The layers of a store written by :class:`_ZarrSink`, read lazily, in layer order."""
    order = json.loads(zarr.open_group(path, mode="r").attrs[LAYER_ORDER_ATTR])
    return {
        layer: from_dataset(
            xr.open_dataset(path, group=layer, engine="zarr", chunks=None, consolidated=True)
        )
        for layer in order
    }


def _describe(transform):
    """What identifies a transform in a cache key: its qualified name, and its repr when
    that shows its settings (not a default repr with a memory address)."""
    name = getattr(transform, "__qualname__", type(transform).__qualname__)
    text = repr(transform)
    settings = "" if " at 0x" in text else f": {text}"
    return f"{getattr(transform, '__module__', '')}.{name}{settings}"
