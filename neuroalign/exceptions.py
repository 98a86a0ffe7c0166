"""Exceptions raised by neuroalign.

Every exception subclasses a built-in so that callers who catch ``ValueError``
or ``ImportError`` keep working.
"""

__all__ = [
    "ConflictingDuplicatesError",
    "DimensionError",
    "EmptyOverlapError",
    "MissingDependencyError",
    "NeuroalignWarning",
    "NotFittedError",
    "SchemaError",
    "UnknownLayerError",
]


class SchemaError(ValueError):
    """A labelled object does not follow the response-matrix schema."""


class DimensionError(SchemaError):
    """An array has the wrong number, names or sizes of dimensions."""


class EmptyOverlapError(ValueError):
    """Two labelled objects share no stimulus to align on."""


class ConflictingDuplicatesError(ValueError):
    """One stimulus appears several times with different values where it must be unique."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class UnknownLayerError(KeyError, ValueError):
    """A requested layer name is not a module of the network."""

    def __str__(self):
        # KeyError quotes its message; show it as written.
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(ImportError):
    """An optional dependency needed by a feature is not installed."""


class NeuroalignWarning(UserWarning):
    """Base class of the warnings neuroalign emits (tests turn them into errors)."""
