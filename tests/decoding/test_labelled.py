import numpy as np
import pytest
import torch
from conftest import build_activations, build_responses

from neuroalign.data import responses
from neuroalign.decoding import decode, decode_over_time
from neuroalign.encoding import DEFAULT_ALPHAS, make_folds, solve_ridge_cv
from neuroalign.stats import pearson_r


def category_recording(rng, n_stimuli=24, n_times=6, effect=2.0):
    category = np.array(["face", "house"] * (n_stimuli // 2))
    ids = [f"img_{i:03d}" for i in range(n_stimuli)] * 2
    labels = np.tile(category, 2)
    data = rng.standard_normal((2 * n_stimuli, 5, n_times))
    data[labels == "face", 0, n_times // 2 :] += effect
    return responses(
        data,
        ids,
        modality="eeg",
        subject="sub-01",
        times=np.linspace(-0.1, 0.4, n_times),
        repetitions=np.repeat([0, 1], n_stimuli),
        presentation_coords={"category": labels},
    )


def test_decode_a_coordinate_matches_the_array_engine(rng):
    recording = category_recording(rng)
    result = decode(recording, "category", cv=4, device="cpu", dtype="float64")
    expected = decode_over_time(
        recording.values,
        recording.category.values,
        cv=4,
        groups=recording.stimulus_id.values,
        device="cpu",
        dtype="float64",
    )
    np.testing.assert_array_equal(result.scores.values, expected.scores)
    assert result.scores.dims == ("fold", "time")
    np.testing.assert_allclose(result.scores.time, recording.time)
    for train, test in expected.folds:
        # Repetitions of a stimulus never sit on both sides of a fold.
        assert not set(recording.stimulus_id.values[train]) & set(
            recording.stimulus_id.values[test]
        )
    table = result.to_frame()
    for column in ("metric", "score", "ci_low", "ci_high", "n_stimuli", "time", "chance"):
        assert column in table
    assert (table.n_stimuli == 24).all() and (table.metric == "roc_auc").all()
    assert (table.ci_low <= table.score).all() and (table.score <= table.ci_high).all()
    late = table.time > 0.2
    assert (
        table.score[late].min() > 0.7
        and table.score[table.time < 0].max() < 0.7
        and result.attrs["classes"] == ["face", "house"]
    )


def test_generalisation_and_windows_are_labelled(rng):
    recording = category_recording(rng)
    general = decode(recording, "category", cv=3, generalize=True, device="cpu")
    assert general.scores.dims == ("fold", "train_time", "test_time")
    assert set(general.to_frame().columns) >= {"train_time", "test_time", "score"}
    windowed = decode(recording, "category", cv=3, window=2, device="cpu")
    np.testing.assert_allclose(
        windowed.scores.time, (recording.time.values[:-1] + recording.time.values[1:]) / 2
    )


def test_regression_on_a_layer_aligns_stimuli_and_identifies(rng):
    layer = build_activations(rng, n_stimuli=30, n_units=4)
    weights = rng.standard_normal((4, 20))
    brain_rows = np.concatenate([layer.values @ weights] * 2)
    ids = np.concatenate([layer.stimulus_id.values] * 2)
    order = rng.permutation(len(ids))
    recording = responses(
        brain_rows[order] + 0.3 * rng.standard_normal((60, 20)), ids[order], modality="fmri"
    )
    pearson = decode(recording, layer.isel(presentation=slice(0, 28)), cv=4, device="cpu")
    assert pearson.metric == "pearson" and pearson.n_stimuli == 28
    assert pearson.mean > 0.8
    identified = decode(recording, layer, scoring="identification", cv=4, device="cpu")
    assert identified.chance == 0.5 and identified.mean > 0.9
    frame = identified.to_frame()
    assert frame.shape[0] == 1 and frame.score[0] == pytest.approx(float(identified.mean))


def test_decode_an_array_of_labels(rng):
    recording = build_responses(rng, n_stimuli=10, n_neuroids=3)
    labels = np.tile(np.arange(10) % 2, 2)
    result = decode(recording, labels, cv=2, scoring="accuracy", device="cpu")
    assert result.scores.dims == ("fold",) and result.chance == 0.5


def test_time_resolved_regression_scores_every_time_point_like_one_fit_each(rng):
    n_stimuli, n_times = 40, 3
    features = rng.standard_normal((n_stimuli, 6))
    brain = features @ rng.standard_normal((6, 5))
    data = rng.standard_normal((n_stimuli, 5, n_times)) + brain[:, :, None] * [0.0, 0.5, 2.0]
    ids = [f"s{i}" for i in range(n_stimuli)]
    recording = responses(data, ids, modality="meg", times=[-0.1, 0.1, 0.2])
    result = decode(recording, features, cv=4, device="cpu")
    assert result.scores.dims == ("fold", "time") and result.scores.shape == (4, n_times)
    for f, (train, test) in enumerate(make_folds(n_stimuli, 4)):
        for t in range(n_times):
            fit = solve_ridge_cv(
                data[train, :, t], features[train], DEFAULT_ALPHAS, dtype=torch.float64
            )
            r = pearson_r(features[test], fit.predict(data[test, :, t]).numpy())
            assert result.scores[f, t] == pytest.approx(r.mean(), abs=1e-9)
    assert float(result.mean[2]) > 0.5 > 0.2 > float(result.mean[0])
