import numpy as np
import pytest
from conftest import build_responses

from neuroalign.decoding import GeneralizingDecoder, SlidingDecoder, decode, decode_over_time
from neuroalign.exceptions import DimensionError, NotFittedError


def test_single_class_is_refused(rng):
    with pytest.raises(ValueError, match="'y' has one class \\('a'\\).*at least 2 classes"):
        decode_over_time(rng.standard_normal((10, 2, 3)), ["a"] * 10, device="cpu")


def test_class_with_fewer_samples_than_folds(rng):
    y = np.array([0] * 12 + [1] * 3)
    with pytest.raises(ValueError, match="Class 1 has 3 samples but cv=5.*cv=3"):
        decode_over_time(rng.standard_normal((15, 2, 3)), y, cv=5, device="cpu")


def test_class_with_fewer_stimuli_than_folds_when_grouped(rng):
    y = np.array([0] * 12 + [1] * 8)
    groups = np.r_[np.arange(12), np.repeat([20, 21, 22, 23], 2)]
    with pytest.raises(ValueError, match="Class 1 has 4 distinct stimuli"):
        decode_over_time(rng.standard_normal((20, 2, 3)), y, groups=groups, device="cpu")


def test_labels_that_do_not_match_the_epochs(rng):
    with pytest.raises(ValueError, match="'y' has 9 labels but the data have 10 epochs"):
        decode_over_time(rng.standard_normal((10, 2, 3)), np.arange(9) % 2, device="cpu")
    recording = build_responses(rng, n_stimuli=6, n_times=4)
    with pytest.raises(ValueError, match="has 5 labels but the data have 12 epochs"):
        decode(recording, np.array([0, 1, 0, 1, 0]), device="cpu")


def test_unknown_target_coordinate_suggests_close_names(rng):
    recording = build_responses(rng, n_stimuli=6, presentation_coords={"category": ["a", "b"] * 6})
    with pytest.raises(ValueError, match="'categroy' is not a coordinate.*Did you mean 'category'"):
        decode(recording, "categroy", device="cpu")


def test_sliding_decoder_refuses_a_different_time_axis(rng):
    X, y = rng.standard_normal((20, 3, 6)), np.arange(20) % 2
    decoder = SlidingDecoder(device="cpu").fit(X, y)
    with pytest.raises(
        DimensionError, match="X has 4 time points.*fitted on 6.*GeneralizingDecoder"
    ):
        decoder.score(X[:, :, :4], y)
    general = GeneralizingDecoder(device="cpu").fit(X, y)
    assert general.score(X[:, :, :4], y).shape == (6, 4)
    with pytest.raises(DimensionError, match="X has 2 channels but the decoder was fitted on 3"):
        general.score(X[:, :2], y)
    with pytest.raises(ValueError, match="labels the decoder was not fitted on"):
        decoder.score(X, np.arange(20) % 3)


def test_wrong_shapes_options_and_unfitted(rng):
    y = np.arange(10) % 2
    with pytest.raises(DimensionError, match="\\(n_epochs, n_channels, n_times\\)"):
        decode_over_time(rng.standard_normal((10, 3)), y, device="cpu")
    X = rng.standard_normal((10, 2, 3))
    with pytest.raises(ValueError, match="'scoring' must be one of.*Did you mean 'roc_auc'"):
        decode_over_time(X, y, scoring="roc-auc", device="cpu")
    with pytest.raises(ValueError, match="'classifier' must be one of"):
        decode_over_time(X, y, classifier="svm", device="cpu")
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        decode_over_time(X, y, device="cpu")
    with pytest.raises(NotFittedError):
        SlidingDecoder().predict(X)


def test_feature_regression_refuses_nan_features_and_tiny_training_sets(rng):
    recording = build_responses(rng, n_stimuli=12, n_times=3)
    features = rng.standard_normal((12, 4))
    features[5, 2] = np.nan
    with pytest.raises(ValueError, match="'target' contains 1 NaN.*row 5, column 2"):
        decode(recording, features, device="cpu")
    small = build_responses(rng, n_stimuli=6, n_times=3)
    with pytest.raises(ValueError, match="needs at least 5 training stimuli; one fold has 4"):
        decode(small, rng.standard_normal((6, 4)), cv=3, device="cpu")
