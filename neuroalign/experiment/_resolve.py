"""Check an experiment against the installation and the files, then load its inputs.

Everything that can be wrong before computing (unknown adapter, missing file, unknown
layer, unknown source or model name, unknown engine option) is found by
:func:`check_experiment`, which reports all problems at once.
"""

import hashlib
import inspect
import logging
from pathlib import Path

import numpy as np

from neuroalign._validation import close_matches_hint
from neuroalign.experiment._registry import get_adapter

__all__ = ["check_experiment", "load_models", "load_sources", "resolve_path"]

logger = logging.getLogger("neuroalign")


def resolve_path(path, base_dir):
    """``path`` relative to the experiment file's folder unless it is absolute.

    Parameters
    ----------
    path : path-like
    base_dir : path-like

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(base_dir) / path


def _name_problem(kind, name, known, where):
    return f"{where}: unknown {kind} {name!r}; defined: {', '.join(sorted(known)) or 'none'}." + (
        close_matches_hint(name, known)
    )


def _engine_options(method):
    """Option names the engine behind ``method`` accepts (None: not checked here)."""
    if method == "encoding":
        from neuroalign.encoding import encoding_scores

        skip = {"features", "responses", "cv", "n_bootstrap", "seed", "device", "max_memory"}
        return set(inspect.signature(encoding_scores).parameters) - skip
    if method == "similarity":
        from neuroalign.similarity import similarity_scores

        skip = {"a", "b", "bootstrap", "seed", "device", "max_memory"}
        return set(inspect.signature(similarity_scores).parameters) - skip
    if method == "rsa":
        return {"rdm_method", "compare_method"}
    if method == "decoding":
        from neuroalign.decoding import decode

        # Temporal generalisation gives a (train time, test time) table; not a unit result yet.
        skip = {"responses", "target", "cv", "seed", "device", "max_memory", "generalize"}
        return set(inspect.signature(decode).parameters) - skip
    return None


def _stored_layers(path):
    from neuroalign.data import load

    stored = load(path)
    return list(stored) if isinstance(stored, dict) else [stored.attrs.get("layer")]


def _check_sources(experiment, base_dir, adapters, problems):
    for name, spec in experiment.sources.items():
        if spec.adapter is not None:
            try:
                get_adapter(spec.adapter, adapters)
            except ValueError as err:
                problems.append(f"sources.{name}.adapter: {err}")
        elif not resolve_path(spec.path, base_dir).exists():
            problems.append(
                f"sources.{name}.path: no file at {str(resolve_path(spec.path, base_dir))!r}."
            )


def _check_models(experiment, base_dir, extractor, problems):
    from neuroalign.models import DEFAULT_LAYERS

    for name, spec in experiment.models.items():
        where = f"models.{name}"
        if spec.network is not None:
            available = list(DEFAULT_LAYERS)
            if spec.stimuli not in experiment.sources:
                problems.append(
                    _name_problem("source", spec.stimuli, experiment.sources, f"{where}.stimuli")
                )
            if extractor is None:
                problems.append(
                    f"{where}.network: running a network needs an activation extractor; run "
                    "the experiment with `neuroalign run`, pass "
                    "extractor=data_adapters.activations.extract, or give the model's "
                    "'activations' file (from `neuroalign extract`)."
                )
        else:
            path = resolve_path(spec.activations, base_dir)
            if not path.exists():
                problems.append(f"{where}.activations: no file at {str(path)!r}.")
                continue
            available = _stored_layers(path)
        for layer in spec.layers or []:
            if layer not in available:
                problems.append(
                    f"{where}.layers: unknown layer {layer!r}; this model has "
                    f"{', '.join(available)}." + close_matches_hint(layer, available)
                )


def _check_options(analysis, where, problems):
    allowed = _engine_options(analysis.method)
    for key in analysis.options:
        if key not in allowed:
            problems.append(
                f"{where}.options: unknown {analysis.method} option {key!r}; allowed: "
                f"{', '.join(sorted(allowed))}." + close_matches_hint(key, allowed)
            )


def _check_analyses(experiment, problems):
    sources, models = experiment.sources, experiment.models
    for i, analysis in enumerate(experiment.analyses):
        where = f"analyses.{i}"
        if analysis.method == "fusion":
            references = [("meeg", analysis.meeg), ("fmri", analysis.fmri)]
        else:
            references = [("sources", name) for name in analysis.sources]
        for key, name in references:
            if name not in sources:
                problems.append(_name_problem("source", name, sources, f"{where}.{key}"))
        if analysis.method == "decoding":
            _check_options(analysis, where, problems)
        if analysis.method in ("encoding", "rsa", "similarity"):
            if not models:
                problems.append(
                    f"{where}: method {analysis.method!r} compares models, but the "
                    "experiment defines none under 'models'."
                )
            for name in analysis.models or []:
                if name not in models:
                    problems.append(_name_problem("model", name, models, f"{where}.models"))
            _check_options(analysis, where, problems)


def check_experiment(experiment, base_dir, *, adapters=None, extractor=None):
    """Find every problem that would stop the experiment, before computing anything.

    Parameters
    ----------
    experiment : Experiment
    base_dir : path-like
        Folder that relative paths are resolved against (the YAML file's folder).
    adapters : Mapping of str to callable, optional
        Adapters given directly, in addition to the registered ones.
    extractor : callable, optional
        Activation extractor (``data_adapters.activations.extract``), needed by models
        that run a network.

    Raises
    ------
    ValueError
        Listing every problem, each with the key it concerns.
    """
    problems = []
    _check_sources(experiment, base_dir, adapters, problems)
    _check_models(experiment, base_dir, extractor, problems)
    _check_analyses(experiment, problems)
    if problems:
        raise ValueError(
            f"Experiment {experiment.name!r} cannot run:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _window(data, spec):
    if spec.window is None and not spec.average_time:
        return data
    out = {}
    for key, da in data.items():
        if "time" in da.dims:
            if spec.window is not None:
                da = da.sel(time=slice(*spec.window))
            if spec.average_time:
                da = da.mean("time", keep_attrs=True)
        out[key] = da
    return out


def load_sources(experiment, base_dir, *, adapters=None):
    """Load every source: adapter call or saved file, then the time window.

    Parameters
    ----------
    experiment : Experiment
    base_dir : path-like
    adapters : Mapping of str to callable, optional

    Returns
    -------
    sources : dict of str to (xarray.DataArray or dict of str to xarray.DataArray)
        Recordings as ``{subject: DataArray}``; a source used as stimuli stays as the
        adapter returned it.
    """
    import xarray as xr

    from neuroalign.data import load

    stimuli = {spec.stimuli for spec in experiment.models.values() if spec.network}
    loaded = {}
    for name, spec in experiment.sources.items():
        if spec.adapter is not None:
            data = get_adapter(spec.adapter, adapters)(**spec.options)
        else:
            data = load(resolve_path(spec.path, base_dir))
        if name in stimuli:
            loaded[name] = data
            continue
        if isinstance(data, xr.DataArray):
            data = {str(data.attrs.get("subject") or name): data}
        loaded[name] = _window(dict(data), spec)
    return loaded


def _cache_key(spec, stimuli):
    from neuroalign.comparison import hash_data
    from neuroalign.models import DEFAULT_WEIGHTS

    digest = hashlib.sha256(Path(DEFAULT_WEIGHTS).read_bytes())
    digest.update(repr((spec.network, spec.layers, spec.batch_size)).encode())
    digest.update(hash_data(stimuli).encode())
    return digest.hexdigest()[:16]


def load_models(experiment, base_dir, sources, *, extractor=None, cache_dir=None, device="cpu"):
    """Activations of every model: from a saved file, or by running the network.

    Network activations are cached under ``cache_dir`` by a content hash of the
    weights, the layers and the stimuli, so reruns and resumed runs reuse them.

    Parameters
    ----------
    experiment : Experiment
    base_dir : path-like
    sources : dict
        What :func:`load_sources` returned.
    extractor : callable, optional
        ``extract(model, images, layers, *, stimulus_ids, batch_size, device,
        model_name, progress)``, e.g. ``data_adapters.activations.extract``.
    cache_dir : path-like, optional
    device : str, default="cpu"

    Returns
    -------
    models : dict of str to dict of str to xarray.DataArray
        Model -> layer -> activations, layers shallow to deep.
    """
    from neuroalign.data import load, save
    from neuroalign.models import DEFAULT_LAYERS, default_model

    models = {}
    for name, spec in experiment.models.items():
        if spec.activations is not None:
            stored = load(resolve_path(spec.activations, base_dir))
            if not isinstance(stored, dict):
                stored = {str(stored.attrs.get("layer") or "features"): stored}
            layers = {k: stored[k] for k in (spec.layers or list(stored))}
        else:
            images = sources[spec.stimuli]
            cached = (
                Path(cache_dir) / f"{name}-{_cache_key(spec, images)}.zarr" if cache_dir else None
            )
            if cached is not None and cached.exists():
                layers = load(cached)
            else:
                layers = extractor(
                    default_model(device=device),
                    np.asarray(images.values),
                    list(spec.layers or DEFAULT_LAYERS),
                    stimulus_ids=np.asarray(images.stimulus_id.values),
                    batch_size=spec.batch_size,
                    device=device,
                    model_name=name,
                    progress=False,
                )
                if cached is not None:
                    save(layers, cached, overwrite=True)
                    logger.info("cached activations of %s in %s", name, cached)
        models[name] = layers
    return models
