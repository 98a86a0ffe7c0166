import numpy as np
import pytest
from conftest import build_activations, build_responses

from neuroalign.data import activations, align, average_repetitions, responses
from neuroalign.exceptions import ConflictingDuplicatesError, EmptyOverlapError, SchemaError


def _rows_match(pair):
    first, second = pair
    return np.array_equal(first.stimulus_id.values, second.stimulus_id.values)


def test_align_shuffled_unique_ids_follow_a(rng):
    layer = build_activations(rng)
    shuffled = layer.isel(presentation=rng.permutation(layer.sizes["presentation"]))
    pair = align(layer, shuffled)
    assert _rows_match(pair)
    np.testing.assert_array_equal(pair.a.values, pair.b.values)
    assert list(pair.a.stimulus_id.values) == list(layer.stimulus_id.values)


def test_align_partial_overlap_keeps_shared_in_order_of_a(rng):
    a = activations(rng.standard_normal((4, 2)), ["d", "a", "c", "x"], model="m", layer="l")
    b = activations(rng.standard_normal((3, 2)), ["a", "y", "d"], model="m", layer="l")
    pair = align(a, b)
    assert list(pair.a.stimulus_id.values) == ["d", "a"]
    assert _rows_match(pair)
    np.testing.assert_array_equal(pair.b.values, b.values[[2, 0]])


def test_align_repeated_recording_with_layer(rng):
    brain = build_responses(rng, n_stimuli=5, n_repetitions=3)
    layer = build_activations(rng, n_stimuli=4)
    brain = brain.isel(presentation=rng.permutation(brain.sizes["presentation"]))
    for pair in (align(brain, layer), align(layer, brain)[::-1]):
        assert _rows_match(pair)
        assert pair[0].sizes["presentation"] == 3 * 4
        lookup = dict(zip(layer.stimulus_id.values, layer.values))
        np.testing.assert_array_equal(
            pair[1].values, [lookup[s] for s in pair[0].stimulus_id.values]
        )
    # The recording keeps its own row order.
    pair = align(brain, layer)
    kept = brain.stimulus_id.isin(layer.stimulus_id.values).values
    np.testing.assert_array_equal(pair.a.values, brain.values[kept])


def test_align_two_recordings_pairs_repetitions(rng):
    eeg = build_responses(rng, n_stimuli=3, n_repetitions=2)
    fmri = build_responses(rng, n_stimuli=4, n_repetitions=3)
    pair = align(eeg, fmri)
    assert _rows_match(pair)
    np.testing.assert_array_equal(pair.a.repetition.values, pair.b.repetition.values)
    assert pair.a.sizes["presentation"] == 6


def test_align_two_recordings_without_repetition_coord(rng):
    eeg = build_responses(rng).drop_vars("repetition")
    fmri = build_responses(rng)
    with pytest.raises(SchemaError, match="average_repetitions"):
        align(eeg, fmri)
    pair = align(average_repetitions(eeg), fmri)
    assert _rows_match(pair)


def test_align_collapses_identical_duplicate_layer_rows(rng):
    values = rng.standard_normal((2, 3))
    layer = activations(values[[0, 1, 0]], ["a", "b", "a"], model="m", layer="l")
    brain = responses(rng.standard_normal((2, 2)), ["a", "b"], modality="fmri")
    pair = align(brain, layer)
    np.testing.assert_array_equal(pair.b.values, values)


def test_align_empty_overlap_hints_at_integer_ids(rng):
    a = activations(rng.standard_normal((2, 2)), [0, 1], model="m", layer="l")
    b = responses(rng.standard_normal((2, 2)), ["0", "1"], modality="fmri")
    with pytest.raises(EmptyOverlapError, match="integer ids"):
        align(a, b)


def test_align_conflicting_duplicates_raise(rng):
    layer = build_activations(rng)
    bad = layer.assign_coords(stimulus_id=("presentation", ["a", "a", "b", "c", "d", "e"]))
    with pytest.raises(ConflictingDuplicatesError):
        align(bad, layer)


def test_align_with_time_dimension(rng):
    eeg = build_responses(rng, n_times=7)
    layer = build_activations(rng)
    pair = align(eeg, layer)
    assert pair.a.dims == ("presentation", "neuroid", "time")
    assert _rows_match(pair)


def test_align_does_not_modify_inputs(rng):
    brain = build_responses(rng)
    layer = build_activations(rng)
    before = brain.copy(deep=True), layer.copy(deep=True)
    align(brain, layer)
    assert brain.identical(before[0]) and layer.identical(before[1])
