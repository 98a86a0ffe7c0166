"""On-the-fly dimensionality reduction of huge layers while extracting activations.

A reducer turns each batch of pooled activations (batch, n_units) into
(batch, n_components) before it is stored, so a layer with millions of units never
has to be held for all stimuli. Both methods are seeded and deterministic:

- ``"sparse_random_projection"``: scikit-learn's :class:`SparseRandomProjection`
  (Achlioptas/Li sparse matrix; needs no fitting on data);
- ``"pca"``: scikit-learn's :class:`IncrementalPCA`, fitted batch by batch on a
  seeded random subset of ``n_fit`` stimuli in a first pass.
"""

import numpy as np

from neuroalign._validation import check_option, check_positive_int

__all__ = ["METHODS", "Reducer", "make_reducer"]

METHODS = ("sparse_random_projection", "pca")


def make_reducer(spec):
    """A :class:`Reducer` from a YAML-able spec, or None.

    Parameters
    ----------
    spec : dict or None
        ``{"method": "sparse_random_projection" | "pca", "n_components": int,
        "seed": int (default 0), "n_fit": int (pca only; default 1000 stimuli)}``.

    Returns
    -------
    reducer : Reducer or None

    Examples
    --------
    >>> import numpy as np
    >>> from data_adapters.reduce import make_reducer
    >>> r = make_reducer({"method": "sparse_random_projection", "n_components": 8})
    >>> r.transform("conv1", np.ones((2, 1000), np.float32)).shape
    (2, 8)
    """
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise TypeError(
            f"'reduce' must be a dict like {{'method': 'pca', 'n_components': 100}}; got "
            f"{type(spec).__name__}."
        )
    unknown = sorted(set(spec) - {"method", "n_components", "seed", "n_fit"})
    if unknown:
        raise ValueError(
            f"'reduce' has unknown keys {unknown}; use method, n_components, seed, n_fit."
        )
    method = check_option("reduce['method']", spec.get("method"), METHODS)
    return Reducer(
        method,
        check_positive_int("reduce['n_components']", spec.get("n_components")),
        seed=check_positive_int("reduce['seed']", spec.get("seed", 0), minimum=0),
        n_fit=check_positive_int("reduce['n_fit']", spec.get("n_fit", 1000)),
    )


class Reducer:
    """Per-layer reduction fitted on the first batch (projection) or a first pass (PCA).

    Parameters
    ----------
    method : {"sparse_random_projection", "pca"}
    n_components : int
    seed : int
    n_fit : int
        Stimuli in the PCA fitting subset.
    """

    def __init__(self, method, n_components, *, seed=0, n_fit=1000):
        self.method = method
        self.n_components = n_components
        self.seed = seed
        self.n_fit = n_fit
        self.models = {}
        self._pending = {}

    @property
    def needs_fit(self):
        """Whether a fitting pass over :meth:`fit_rows` must run before :meth:`transform`."""
        return self.method == "pca"

    def spec(self):
        """The JSON-serialisable description stored in attrs and cache keys."""
        return {
            "method": self.method,
            "n_components": self.n_components,
            "seed": self.seed,
            "n_fit": self.n_fit if self.needs_fit else None,
        }

    def fit_rows(self, n_stimuli):
        """Sorted indices of the seeded fitting subset (all stimuli when fewer than n_fit)."""
        if n_stimuli <= self.n_fit:
            return np.arange(n_stimuli)
        return np.sort(np.random.default_rng(self.seed).choice(n_stimuli, self.n_fit, False))

    def partial_fit(self, layer, block):
        """Feed one batch of the fitting pass.

        Rows are buffered so that every ``IncrementalPCA.partial_fit`` call, including
        the last one in :meth:`finish_fit`, sees at least ``n_components`` rows.
        """
        self._check(layer, block)
        pending = self._pending.get(layer)
        block = block if pending is None else np.concatenate([pending, block])
        k = self.n_components
        if len(block) >= 2 * k:
            self._model(layer).partial_fit(block[:-k])
            block = block[-k:]
        self._pending[layer] = block

    def finish_fit(self):
        """Fit the rows still buffered (the fitting subset must hold n_components stimuli)."""
        for layer, block in self._pending.items():
            if len(block) < self.n_components:
                raise ValueError(
                    f"reduce: PCA of layer {layer!r} needs at least n_components="
                    f"{self.n_components} fitting stimuli; got {len(block)}. Lower "
                    "'n_components' or raise 'n_fit'."
                )
            self._model(layer).partial_fit(block)
        self._pending.clear()

    def _model(self, layer):
        from sklearn.decomposition import IncrementalPCA

        return self.models.setdefault(layer, IncrementalPCA(n_components=self.n_components))

    def transform(self, layer, block):
        """Reduce one batch, shape (batch, n_units) → (batch, n_components), float32."""
        self._check(layer, block)
        if layer not in self.models:
            if self.needs_fit:
                raise RuntimeError(f"reduce: the PCA of layer {layer!r} has not been fitted.")
            from sklearn.random_projection import SparseRandomProjection

            projection = SparseRandomProjection(self.n_components, random_state=self.seed)
            self.models[layer] = projection.fit(np.zeros((1, block.shape[1]), np.float32))
        return self.models[layer].transform(block).astype(np.float32)

    def _check(self, layer, block):
        if block.shape[1] < self.n_components:
            raise ValueError(
                f"reduce: layer {layer!r} has {block.shape[1]} units, fewer than "
                f"n_components={self.n_components}; lower 'n_components' or leave this "
                "layer unreduced."
            )
