"""The YAML experiment schema (pydantic): unknown keys and wrong types name the key."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neuroalign._validation import close_matches_hint

__all__ = [
    "ComparisonAnalysis",
    "DecodingAnalysis",
    "Experiment",
    "FusionAnalysis",
    "ModelSpec",
    "SourceSpec",
    "load_config",
    "parse_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """A data source: an adapter call or a file saved with :func:`neuroalign.data.save`.

    ``window`` keeps the time points in ``[start, end]`` seconds; ``average_time``
    then averages over them (e.g. spike counts in a response window).
    """

    adapter: str | None = None
    path: Path | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    window: tuple[float, float] | None = None
    average_time: bool = False

    @model_validator(mode="after")
    def _one_origin(self):
        if (self.adapter is None) == (self.path is None):
            raise ValueError("give exactly one of 'adapter' (a registered loader) or 'path'")
        if self.path is not None and self.options:
            raise ValueError("'options' go with 'adapter'; a 'path' source takes none")
        return self


class ModelSpec(_Strict):
    """A network whose layers are compared: a shipped network run on a stimulus source,
    or activations saved by ``neuroalign extract``."""

    network: Literal["default"] | None = None
    stimuli: str | None = None
    activations: Path | None = None
    layers: list[str] | None = None
    batch_size: int = Field(default=64, ge=1)

    @model_validator(mode="after")
    def _one_origin(self):
        if (self.network is None) == (self.activations is None):
            raise ValueError("give exactly one of 'network' (with 'stimuli') or 'activations'")
        if self.network is not None and self.stimuli is None:
            raise ValueError("'network' needs 'stimuli': the name of the source of its images")
        return self


class ComparisonAnalysis(_Strict):
    """Models against recordings with :func:`neuroalign.compare`, one unit per
    (source, subject, model, layer)."""

    method: Literal["encoding", "rsa", "similarity"]
    sources: list[str] = Field(min_length=1)
    models: list[str] | None = None
    cv: int = Field(default=5, ge=2)
    n_bootstrap: int = Field(default=0, ge=0)
    by: str = "region"
    options: dict[str, Any] = Field(default_factory=dict)


class FusionAnalysis(_Strict):
    """M/EEG-fMRI fusion (:func:`neuroalign.rsa.fusion`), one unit per pair of subjects."""

    method: Literal["fusion"]
    meeg: str
    fmri: str
    rdm_method: str = "euclidean"
    compare_method: str = "spearman"
    n_permutations: int = Field(default=1000, ge=1)
    threshold_p: float = Field(default=0.05, gt=0, lt=1)


class DecodingAnalysis(_Strict):
    """Decoding a stimulus property from recordings (:mod:`neuroalign.decoding`), one
    unit per (source, subject)."""

    method: Literal["decoding"]
    sources: list[str] = Field(min_length=1)
    target: str = "category"
    cv: int = Field(default=5, ge=2)
    options: dict[str, Any] = Field(default_factory=dict)


Analysis = Annotated[
    ComparisonAnalysis | FusionAnalysis | DecodingAnalysis, Field(discriminator="method")
]


class Experiment(_Strict):
    """A whole experiment: sources, models, analyses, figures and where results go."""

    name: str
    description: str = ""
    seed: int = Field(default=0, ge=0)
    device: str = "auto"
    out: Path | None = None
    sources: dict[str, SourceSpec] = Field(min_length=1)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    analyses: list[Analysis] = Field(min_length=1)
    figures: bool = True
    report: bool = True


_SECTIONS = {"sources": SourceSpec, "models": ModelSpec}
_ANALYSES = {
    "encoding": ComparisonAnalysis,
    "rsa": ComparisonAnalysis,
    "similarity": ComparisonAnalysis,
    "fusion": FusionAnalysis,
    "decoding": DecodingAnalysis,
}


def _split_location(loc):
    """The key path without pydantic's union tag, and the model that holds the last key."""
    loc = list(loc)
    if len(loc) > 2 and loc[0] == "analyses" and loc[2] in _ANALYSES:
        owner = _ANALYSES[loc[2]]
        loc = loc[:2] + loc[3:]
    elif len(loc) == 3 and loc[0] in _SECTIONS:
        owner = _SECTIONS[loc[0]]
    else:
        owner = Experiment if len(loc) == 1 else None
    return ".".join(str(p) for p in loc) or "(top level)", owner


def _describe(error):
    kind = error["type"]
    where, owner = _split_location(error["loc"])
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        allowed = sorted(owner.model_fields) if owner is not None else []
        listed = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key {key!r}{listed}." + close_matches_hint(key, allowed)
    if kind == "missing":
        return f"{where}: required key is missing."
    received = error.get("input")
    return f"{where}: {error['msg']}; got {received!r}."


def parse_config(data, *, source="<dict>"):
    """Validate an experiment given as a dict (e.g. parsed YAML).

    Parameters
    ----------
    data : dict
    source : str, default="<dict>"
        Where ``data`` came from, for messages.

    Returns
    -------
    experiment : Experiment

    Raises
    ------
    ValueError
        Listing every problem with the key it concerns, the expected and the
        received value.

    Examples
    --------
    >>> config = {"name": "x", "sources": {"a": {"adapter": "synthetic"}},
    ...           "analyses": [{"method": "rsa", "sources": ["a"], "cv": 1}]}
    >>> try:
    ...     parse_config(config)
    ... except ValueError as err:
    ...     print(err)
    Invalid experiment <dict>:
      - analyses.0.cv: Input should be greater than or equal to 2; got 1.
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"Invalid experiment {source}: expected a mapping of keys (name, sources, models, "
            f"analyses, ...); got {type(data).__name__}."
        )
    try:
        return Experiment.model_validate(data)
    except ValidationError as err:
        problems = "\n".join(f"  - {_describe(e)}" for e in err.errors())
        raise ValueError(f"Invalid experiment {source}:\n{problems}") from None


def load_config(path):
    """Read and validate a YAML experiment.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    experiment : Experiment

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the YAML cannot be parsed or does not fit the schema.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No experiment file at {str(path)!r}.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{str(path)!r} is not valid YAML: {err}") from None
    return parse_config(data, source=repr(str(path)))
