"""Activation cache (content-hash keys, atomic writes), bounded memory and on-the-fly reduction.

References: reduced activations are compared with scikit-learn run on the full
activation matrix — ``SparseRandomProjection`` with the same seed (identical matrix,
float32 rounding: rtol 1e-5, atol 1e-5) and ``PCA`` (the incremental fit over batches
spans the same top components: absolute correlation of each component with PCA's
above 0.999 on data with a clear low-rank structure), fitted on all stimuli or on the
documented seeded subset (``np.random.default_rng(seed).choice(n, n_fit)``, sorted).
"""

import tracemalloc

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.random_projection import SparseRandomProjection
from torch import nn

from data_adapters.activations import extract
from data_adapters.cache import clear_partial


class Counting(nn.Module):
    """A small network that counts its forward passes and can fail on a chosen call."""

    def __init__(self, width=6, fail_on=None):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 3))
        self.calls = 0
        self.fail_on = fail_on

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_on:
            raise KeyboardInterrupt("simulated interruption")
        return self.body(x)


@pytest.fixture
def net():
    torch.manual_seed(0)
    return Counting()


def _entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir())


def test_second_extract_reads_from_disk(net, rng, tmp_path):
    stimuli = rng.standard_normal((10, 4)).astype(np.float32)
    options = {"cache_dir": tmp_path, "batch_size": 3, "progress": False}
    first = extract(net, stimuli, ["body.0", "body.2"], **options)
    assert net.calls == 4  # batches of 3
    again = extract(net, stimuli, ["body.0", "body.2"], **options)
    assert net.calls == 4
    assert list(again) == ["body.0", "body.2"]
    for layer in first:
        np.testing.assert_array_equal(again[layer].values, first[layer].values)
        assert again[layer].attrs == first[layer].attrs
    uncached = extract(net, stimuli, ["body.0", "body.2"], progress=False, batch_size=3)
    np.testing.assert_array_equal(again["body.2"].values, uncached["body.2"].values)
    assert len(_entries(tmp_path)) == 1


def test_what_changes_the_key(net, rng, tmp_path):
    stimuli = rng.standard_normal((6, 4)).astype(np.float32)

    def run(model=net, data=stimuli, layers=("body.0",), **options):
        extract(model, data, list(layers), cache_dir=tmp_path, progress=False, **options)
        return len(_entries(tmp_path))

    assert run() == 1
    assert run() == 1
    assert run(layers=("body.2",)) == 2
    assert run(data=stimuli[:5]) == 3
    changed = stimuli.copy()
    changed[0, 0] += 1e-3
    assert run(data=changed) == 4
    assert run(stimulus_ids=[f"s{i}" for i in range(6)]) == 5
    assert run(preprocessing={"normalise": "zscore"}) == 6
    assert run(transform=lambda x: x * 2) == 7
    assert run(pool="mean") == 8
    assert run(reduce={"method": "sparse_random_projection", "n_components": 2}) == 9
    with torch.no_grad():
        net.body[0].weight[0, 0] += 1e-4
    assert run() == 10


def test_an_interrupted_write_leaves_nothing(rng, tmp_path):
    torch.manual_seed(0)
    failing = Counting(fail_on=2)
    stimuli = rng.standard_normal((10, 4)).astype(np.float32)
    with pytest.raises(KeyboardInterrupt):
        extract(failing, stimuli, ["body.0"], cache_dir=tmp_path, batch_size=3, progress=False)
    assert _entries(tmp_path) == []
    # A store left by a killed process (no chance to clean up) is never read as a result.
    (tmp_path / ".deadbeef.123.abc.partial").mkdir()
    failing.fail_on = None
    result = extract(failing, stimuli, ["body.0"], cache_dir=tmp_path, progress=False)
    assert result["body.0"].shape == (10, 6)
    assert clear_partial(tmp_path) == 1
    assert len(_entries(tmp_path)) == 1


def test_memory_stays_bounded_while_extracting(rng, tmp_path):
    """Peak host memory of a chunked extraction is far below the full activation matrix."""
    torch.manual_seed(0)
    wide = nn.Sequential(nn.Linear(8, 20_000))
    stimuli = rng.standard_normal((300, 8)).astype(np.float32)
    full_bytes = 300 * 20_000 * 4  # 24 MB of activations
    tracemalloc.start()
    try:
        layers = extract(
            wide, stimuli, ["0"], cache_dir=tmp_path, batch_size=10, device="cpu", progress=False
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < full_bytes / 4
    with torch.no_grad():
        expected = wide(torch.from_numpy(stimuli[-10:])).numpy()
    np.testing.assert_allclose(layers["0"].values[-10:], expected, rtol=1e-6)


def test_sparse_random_projection_matches_scikit_learn(net, rng):
    stimuli = rng.standard_normal((12, 4)).astype(np.float32)
    spec = {"method": "sparse_random_projection", "n_components": 3, "seed": 7}
    reduced = extract(net, stimuli, ["body.0"], reduce=spec, batch_size=5, progress=False)
    full = extract(net, stimuli, ["body.0"], progress=False)["body.0"].values
    reference = SparseRandomProjection(3, random_state=7).fit(full).transform(full)
    np.testing.assert_allclose(reduced["body.0"].values, reference, rtol=1e-5, atol=1e-5)
    assert '"sparse_random_projection"' in reduced["body.0"].attrs["reduce"]


def test_incremental_pca_matches_pca(rng):
    torch.manual_seed(0)
    n_units, rank = 50, 3
    mixing = torch.from_numpy(rng.standard_normal((rank, n_units)).astype(np.float32))
    model = nn.Sequential(nn.Identity())
    latent = rng.standard_normal((200, rank)).astype(np.float32) * np.array([5.0, 3.0, 2.0])
    stimuli = (latent @ mixing.numpy() + 0.05 * rng.standard_normal((200, n_units))).astype(
        np.float32
    )
    subset = np.sort(np.random.default_rng(1).choice(200, 150, replace=False))
    for n_fit, fitted_on in ((500, stimuli), (150, stimuli[subset])):
        spec = {"method": "pca", "n_components": 3, "n_fit": n_fit, "seed": 1}
        reduced = extract(model, stimuli, ["0"], reduce=spec, batch_size=20, progress=False)
        reference = PCA(3).fit(fitted_on).transform(stimuli)
        for k in range(3):
            r = np.corrcoef(reduced["0"].values[:, k], reference[:, k])[0, 1]
            assert abs(r) > 0.999
    with pytest.raises(ValueError, match="50 units, fewer than n_components=60"):
        extract(model, stimuli, ["0"], reduce={"method": "pca", "n_components": 60}, progress=False)
