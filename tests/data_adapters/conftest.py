"""Fixtures of the file-adapter tests: a tiny synthetic world, written once as files."""

import os
from pathlib import Path

import pytest

from data_adapters.synthetic import make_world

SHARED_DATA = Path(
    os.environ.get("NEUROALIGN_SHARED_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)


@pytest.fixture
def shared_dataset():
    """``find(name)``: the folder of a real dataset in shared/data, or skip when absent."""

    def find(name):
        folder = SHARED_DATA / name
        if not folder.is_dir():
            pytest.skip(f"{name} not found in {SHARED_DATA} (set NEUROALIGN_SHARED_DATA).")
        return folder

    return find


@pytest.fixture(scope="session")
def tiny_world():
    """20 stimuli x 2 repetitions; one fMRI subject, EEG, MEG and spiking recordings."""
    return make_world(quick=True, n_per_category=2, n_subjects=1, seed=0)


@pytest.fixture(scope="session")
def world_files(tiny_world, tmp_path_factory):
    """The tiny world written as BIDS NIfTI, EDF, FIF and NWB files."""
    from data_adapters.synthetic_files import write_bids

    root = tmp_path_factory.mktemp("bids")
    return root, write_bids(tiny_world, root)
