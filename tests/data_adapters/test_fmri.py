"""fMRI adapters on real NIfTI/GIfTI files: synthetic round trips, single-trial GLM, Haxby 2001.

Tolerances: NIfTI float32 volumes and GIfTI float32 arrays are lossless (exact equality).
Single-trial betas are compared with the correlation a noisy OLS estimate is expected to
reach: for each voxel the estimate is ``A @ y`` with ``A`` the rows of the trials in
the pseudo-inverse of the same nilearn design, so its expected correlation with the
true amplitudes follows from ``A X b`` (signal) and ``noise**2 * ||A||**2`` (noise
variance). The mean measured correlation over voxels must be within 0.08 of that
expectation (about three standard errors of a mean of 15 voxel correlations over 40
trials).
"""

import gzip
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import make_first_level_design_matrix

from data_adapters.fmri import load_betas, load_bold, load_surface, to_nifti, to_surface
from data_adapters.synthetic import FMRISubject, make_stimuli
from data_adapters.synthetic_files import write_bold_runs, write_fmri_betas
from neuroalign.exceptions import DimensionError, SchemaError

HAXBY = "haxby2001_pymvpa_1slice"


def _by_voxel(da):
    """Reorder neuroids by (x, y, z) so that two loaders' outputs line up."""
    order = np.lexsort((da.z.values, da.y.values, da.x.values))
    return da.isel(neuroid=order)


def test_betas_round_trip(tiny_world, tmp_path):
    recording = tiny_world.fmri["sub-01"]
    paths = write_fmri_betas(recording, tmp_path)
    loaded = load_betas(
        paths["betas"],
        stimuli=paths["stimuli"],
        atlas=paths["atlas"],
        atlas_labels=paths["atlas_labels"],
        subject="sub-01",
    )
    expected = _by_voxel(recording)
    np.testing.assert_array_equal(loaded.values, expected.values)
    np.testing.assert_array_equal(loaded.stimulus_id.values, expected.stimulus_id.values)
    np.testing.assert_array_equal(loaded.region.values, expected.region.values)
    np.testing.assert_array_equal(loaded.category.values, expected.category.values)
    np.testing.assert_array_equal(loaded.run.values.astype(int), expected.run.values)
    for axis in "xyz":
        np.testing.assert_array_equal(loaded[axis].values, expected[axis].values)


def test_to_nifti_puts_scores_back_on_the_grid(tiny_world, tmp_path):
    paths = write_fmri_betas(tiny_world.fmri["sub-01"], tmp_path)
    loaded = load_betas(paths["betas"], stimuli=paths["stimuli"], atlas=paths["atlas"])
    scores = loaded.mean("presentation")
    image = to_nifti(scores, path=tmp_path / "scores.nii.gz")
    volume = nib.load(tmp_path / "scores.nii.gz").get_fdata()
    index = tuple(loaded[a].values for a in "xyz")
    np.testing.assert_allclose(volume[index], scores.values, rtol=1e-6)
    assert np.isnan(volume).sum() == volume.size - loaded.sizes["neuroid"]
    assert image.shape == nib.load(paths["betas"]).shape[:3]


def test_one_file_per_presentation_and_mask(tiny_world, tmp_path):
    recording = tiny_world.fmri["sub-01"].isel(presentation=slice(0, 3))
    paths = write_fmri_betas(recording, tmp_path)
    image = nib.load(paths["betas"])
    files = []
    for i in range(3):
        files.append(str(tmp_path / f"beta_{i}.nii.gz"))
        nib.save(
            nib.Nifti1Image(image.get_fdata()[..., i].astype(np.float32), image.affine), files[-1]
        )
    mask = (nib.load(paths["atlas"]).get_fdata() == 1).astype(np.uint8)
    nib.save(nib.Nifti1Image(mask, image.affine), tmp_path / "mask.nii.gz")
    loaded = load_betas(
        files, stimuli=list(recording.stimulus_id.values), mask=str(tmp_path / "mask.nii.gz")
    )
    expected = _by_voxel(recording.isel(neuroid=recording.region.values == "early"))
    np.testing.assert_array_equal(loaded.values, expected.values)


def test_surface_round_trip(tiny_world, tmp_path):
    recording = tiny_world.fmri["sub-01"]
    halves = {
        "left": recording.isel(neuroid=slice(0, 40)),
        "right": recording.isel(neuroid=slice(40, None)),
    }
    files = []
    for hemisphere, part in halves.items():
        arrays = [nib.gifti.GiftiDataArray(row.astype(np.float32)) for row in part.values]
        files.append(str(tmp_path / f"sub-01_hemi-{hemisphere[0].upper()}_betas.func.gii"))
        nib.save(nib.gifti.GiftiImage(darrays=arrays), files[-1])
    loaded = load_surface(files, stimuli=list(recording.stimulus_id.values))
    np.testing.assert_array_equal(loaded.values, recording.values)
    assert (loaded.hemisphere.values == ["left"] * 40 + ["right"] * 50).all()
    maps = to_surface(loaded.isel(presentation=0))
    np.testing.assert_array_equal(maps["right"], recording.values[0, 40:])


@pytest.fixture(scope="module")
def bold_runs(tmp_path_factory):
    """15 voxels, 20 stimuli, 2 runs of 97 one-second scans with white noise of sd 0.5."""
    subject = FMRISubject(n_voxels_per_region=5, seed=0)
    stimuli = make_stimuli(4, seed=0)
    return write_bold_runs(subject, stimuli, tmp_path_factory.mktemp("bold"), noise=0.5, seed=1)


def _expected_correlation(runs, betas, method):
    """Mean over voxels of the correlation an OLS estimate reaches at this noise level."""
    truth = runs.truth
    column = {n: i for i, n in enumerate(truth.neuroid_id.values)}
    voxels = [column[n] for n in betas.neuroid_id.values]
    expected, measured = [], []
    for run, events_path in enumerate(runs.events, start=1):
        events = pd.read_csv(events_path, sep="\t")
        n_scans = nib.load(runs.bold[run - 1]).shape[3]
        frame_times = np.arange(n_scans) * runs.t_r
        names = [f"t{i}" for i in range(len(events))]

        def design(types, events=events, frame_times=frame_times):
            frame = events.assign(trial_type=types)[["onset", "duration", "trial_type"]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return make_first_level_design_matrix(frame_times, frame, hrf_model="glover")

        full = design(names)
        X = full[names].to_numpy()
        if method == "lsa":
            columns = list(full.columns)
            A = np.linalg.pinv(full.to_numpy())[[columns.index(n) for n in names]]
        else:
            A = np.stack([_lss_row(design, i, len(names)) for i in range(len(names))])
        rows = [list(truth.stimulus_id.values).index(s) for s in events["stimulus_id"]]
        b = truth.values[rows][:, voxels]
        signal = A @ X @ b
        noise_var = runs.noise**2 * (A**2).sum(1).mean()
        for v in range(b.shape[1]):
            r_signal = np.corrcoef(signal[:, v], b[:, v])[0, 1]
            var_signal = signal[:, v].var()
            expected.append(r_signal * np.sqrt(var_signal / (var_signal + noise_var)))
        estimate = betas.values[betas.run.values == run]
        measured += [np.corrcoef(estimate[:, v], b[:, v])[0, 1] for v in range(b.shape[1])]
    return np.mean(measured), np.mean(expected)


def _lss_row(design, trial, n_trials):
    """The row of the pseudo-inverse that gives trial ``trial``'s LSS estimate."""
    matrix = design(["others"] * trial + ["target"] + ["others"] * (n_trials - trial - 1))
    return np.linalg.pinv(matrix.to_numpy())[list(matrix.columns).index("target")]


@pytest.mark.parametrize("method", ["lsa", "lss"])
def test_single_trial_betas_reach_the_expected_correlation(bold_runs, method):
    betas = load_bold(bold_runs.bold, bold_runs.events, method=method, noise_model="ols")
    assert betas.shape == (40, 15)
    assert (betas.run.values == np.repeat([1, 2], 20)).all()
    measured, expected = _expected_correlation(bold_runs, betas, method)
    assert 0.4 < expected < 0.95
    assert abs(measured - expected) < 0.08


def test_lsa_without_noise_recovers_the_amplitudes(tmp_path):
    subject = FMRISubject(n_voxels_per_region=2, seed=0)
    runs = write_bold_runs(subject, make_stimuli(1, seed=0), tmp_path, n_runs=1, noise=0.0)
    betas = load_bold(runs.bold, runs.events, method="lsa", noise_model="ols")
    truth = runs.truth.sel(
        presentation=[
            list(runs.truth.stimulus_id.values).index(s) for s in betas.stimulus_id.values
        ]
    )
    truth = truth.isel(
        neuroid=[list(truth.neuroid_id.values).index(n) for n in betas.neuroid_id.values]
    )
    np.testing.assert_allclose(betas.values, truth.values, atol=1e-4)


def test_confounds_are_regressed_out(bold_runs, tmp_path):
    """A confound added to every voxel changes nothing once it is in the design."""
    image = nib.load(bold_runs.bold[0])
    data = image.get_fdata()
    confound = np.sin(np.arange(data.shape[3]) / 3.0)
    nib.save(
        nib.Nifti1Image(
            (data + 5 * confound * (data.mean(3) != 0)[..., None]).astype(np.float32),
            image.affine,
            image.header,
        ),
        tmp_path / "run1.nii.gz",
    )
    pd.DataFrame({"wave": confound}).to_csv(tmp_path / "conf.tsv", sep="\t", index=False)
    pd.DataFrame({"wave": np.zeros_like(confound) + confound}).to_csv(
        tmp_path / "conf0.tsv", sep="\t", index=False
    )
    with_confound = load_bold(
        str(tmp_path / "run1.nii.gz"),
        bold_runs.events[0],
        confounds=str(tmp_path / "conf.tsv"),
        noise_model="ols",
    )
    reference = load_bold(
        bold_runs.bold[0],
        bold_runs.events[0],
        confounds=str(tmp_path / "conf0.tsv"),
        noise_model="ols",
    )
    np.testing.assert_allclose(with_confound.values, reference.values, atol=1e-3)


def test_bad_inputs_name_the_file(tiny_world, bold_runs, tmp_path):
    paths = write_fmri_betas(tiny_world.fmri["sub-01"], tmp_path)
    raw = gzip.decompress(Path(paths["betas"]).read_bytes())
    truncated = tmp_path / "truncated.nii"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SchemaError, match="(?s)truncated.nii.*truncated or corrupt"):
        load_betas(str(truncated), stimuli=paths["stimuli"])
    nib.save(
        nib.Nifti1Image(np.ones((2, 2, 2), np.uint8), np.eye(4)), tmp_path / "small_mask.nii.gz"
    )
    with pytest.raises(DimensionError, match="small_mask.*resample"):
        load_betas(
            paths["betas"], stimuli=paths["stimuli"], mask=str(tmp_path / "small_mask.nii.gz")
        )
    with pytest.raises(DimensionError, match="volumes"):
        load_betas(paths["betas"], stimuli=["a", "b"])
    with pytest.raises(SchemaError, match="not in 'stimuli'.*events"):
        load_bold(bold_runs.bold[0], bold_runs.events[0], stimuli=["stim_0000"])
    late = pd.read_csv(bold_runs.events[0], sep="\t").assign(onset=lambda t: t.onset * 1000)
    late.to_csv(tmp_path / "ms_events.tsv", sep="\t", index=False)
    with pytest.raises(SchemaError, match="ms_events.tsv.*after the end"):
        load_bold(bold_runs.bold[0], str(tmp_path / "ms_events.tsv"))
    pd.DataFrame({"wave": [0.0, 1.0]}).to_csv(tmp_path / "short.tsv", sep="\t", index=False)
    with pytest.raises(SchemaError, match="short.tsv.*2 rows"):
        load_bold(bold_runs.bold[0], bold_runs.events[0], confounds=str(tmp_path / "short.tsv"))


def test_haxby_betas_and_single_run_glm(shared_dataset, tmp_path):
    folder = shared_dataset(HAXBY)
    volumes = load_betas(
        str(folder / "bold.nii.gz"),
        stimuli=str(folder / "attributes_literal.txt"),
        columns=["stimulus_id", "run"],
        mask=str(folder / "mask.nii.gz"),
        drop=["rest"],
    )
    assert volumes.shape == (8 * 108, 530)
    assert set(volumes.stimulus_id.values) == {
        "face",
        "house",
        "cat",
        "bottle",
        "scissors",
        "shoe",
        "chair",
        "scrambledpix",
    }
    image = nib.load(folder / "bold.nii.gz")
    runs, events = [], []
    for run in range(12):
        data = np.asarray(image.dataobj[..., run * 121 : (run + 1) * 121], np.float32)
        runs.append(str(tmp_path / f"run{run + 1:02d}_bold.nii.gz"))
        nib.save(nib.Nifti1Image(data, image.affine), runs[-1])
        events.append(str(folder / "events" / f"run{run + 1:02d}_events.tsv"))
    betas = load_bold(runs, events, t_r=2.5, mask=str(folder / "mask.nii.gz"))
    assert betas.shape == (12 * 8, 530)
    assert np.isfinite(betas.values).all()
    # Haxby et al. (2001)'s split-half analysis: each half's category patterns, minus
    # their mean over categories; the pattern of the odd runs is matched with the most
    # correlated pattern of the even runs. Chance is 1/8.
    categories = sorted(set(betas.stimulus_id.values))
    odd, even = (
        np.stack(
            [
                betas.values[(betas.stimulus_id == c) & (betas.run % 2 == half)].mean(0)
                for c in categories
            ]
        )
        for half in (1, 0)
    )
    similarity = np.corrcoef(odd - odd.mean(0), even - even.mean(0))[:8, 8:]
    accuracy = (similarity.argmax(1) == np.arange(8)).mean()
    assert accuracy >= 0.5  # 4 of 8 (4x chance); this slice gives 5 of 8
    face, house = categories.index("face"), categories.index("house")
    assert similarity[face, face] > similarity[face, house]
    assert similarity[house, house] > similarity[house, face]
