import numpy as np
import pytest
from sklearn.linear_model import Ridge

from neuroalign.data import activations, responses
from neuroalign.encoding import encoding_scores, make_folds
from neuroalign.exceptions import EmptyOverlapError
from neuroalign.stats import pearson_r


@pytest.fixture
def layer_and_brain(rng):
    ids = [f"s{i:02d}" for i in range(50)]
    layer = activations(rng.standard_normal((50, 6)), ids, model="net", layer="fc")
    signal = layer.values @ rng.standard_normal((6, 4))
    trials = np.concatenate([signal, signal]) + rng.standard_normal((100, 4))
    brain = responses(
        trials, ids * 2, modality="fmri", subject="sub-01", regions=["V1", "V1", "IT", "IT"]
    )
    return layer, brain


def test_scores_equal_manual_nested_cross_validation(layer_and_brain):
    layer, brain = layer_and_brain
    alphas = [0.1, 10.0, 1000.0]
    result = encoding_scores(layer, brain, alphas=alphas, device="cpu", dtype="float64")
    averaged = brain.values.reshape(2, 50, 4).mean(0)
    X = layer.values
    predictions = np.empty_like(averaged)
    for train, test in make_folds(50, 5, groups=np.arange(50)):
        for j in range(averaged.shape[1]):
            inner = {}
            for a in alphas:
                scores = []
                for tr, va in make_folds(len(train), 5, groups=np.arange(len(train))):
                    fit = Ridge(alpha=a).fit(X[train][tr], averaged[train][tr, j])
                    scores.append(
                        np.corrcoef(fit.predict(X[train][va]), averaged[train][va, j])[0, 1]
                    )
                inner[a] = np.mean(scores)
            best = max(alphas, key=lambda a: (inner[a], -alphas.index(a)))
            predictions[test, j] = (
                Ridge(alpha=best).fit(X[train], averaged[train, j]).predict(X[test])
            )
    expected = pearson_r(averaged, predictions)
    np.testing.assert_allclose(result.scores.pearson.sel(layer="fc").values, expected, rtol=1e-6)


def test_result_table_ceiling_and_normalisation(layer_and_brain):
    layer, brain = layer_and_brain
    result = encoding_scores({"fc": layer, "copy": layer}, brain, device="cpu", n_bootstrap=100)
    scores = result.scores
    assert scores.pearson.dims == ("layer", "neuroid")
    assert list(scores.region.values) == ["V1", "V1", "IT", "IT"]
    assert (scores.ci_low <= scores.pearson).all() and (scores.pearson <= scores.ci_high).all()
    assert (result.ceiling > 0.5).all()
    np.testing.assert_allclose(scores.normalized, scores.pearson / result.ceiling)
    table = result.to_frame()
    assert set(table.columns) >= {
        "model",
        "layer",
        "subject",
        "region",
        "method",
        "metric",
        "score",
        "ceiling",
        "n_stimuli",
    }
    assert len(table) == 2 * 2 * 2  # layers x regions x metrics
    assert (table.ci_low < table.score).all() and (table.score < table.ci_high).all()
    assert scores.pearson_bootstrap.dims == ("layer", "bootstrap", "neuroid")
    assert (table.n_stimuli == 50).all() and (table.subject == "sub-01").all()


def test_time_resolved_responses_score_every_time_point(rng):
    ids = [f"s{i}" for i in range(40)]
    layer = activations(rng.standard_normal((40, 3)), ids, model="net", layer="fc")
    times = np.array([0.0, 0.1, 0.2])
    gain = np.array([0.0, 1.0, 3.0])
    signal = (layer.values @ rng.standard_normal((3, 2)))[:, :, None] * gain
    eeg = responses(signal + rng.standard_normal((40, 2, 3)), ids, modality="eeg", times=times)
    result = encoding_scores(layer, eeg, device="cpu")
    assert result.scores.pearson.dims == ("layer", "neuroid", "time")
    assert result.ceiling is None
    by_time = result.scores.pearson.mean(("layer", "neuroid")).values
    assert by_time[0] < 0.3 < by_time[1] < by_time[2]


def test_single_trials_keep_repetitions_in_one_fold(layer_and_brain):
    layer, brain = layer_and_brain
    result = encoding_scores(layer, brain, average_repetitions_first=False, device="cpu")
    assert result.n_stimuli == 50
    assert (result.scores.pearson > 0.3).all()


def test_mismatched_ids_raise(layer_and_brain):
    layer, brain = layer_and_brain
    other = layer.assign_coords(stimulus_id=("presentation", [f"x{i}" for i in range(50)]))
    with pytest.raises(EmptyOverlapError, match="share no stimulus_id"):
        encoding_scores(other, brain, device="cpu")
    with pytest.raises(TypeError, match="'features' must be"):
        encoding_scores([layer], brain, device="cpu")


def test_synthetic_world_hierarchy():
    """Early ROI best predicted by an early layer, late ROI by a late one (DESIGN.md §5).

    Spatially averaged channels (pool="mean") keep the test fast; the early ROI's
    retinotopic tuning makes its profile flatter with flattened maps.
    """
    from data_adapters import synthetic
    from data_adapters.activations import extract
    from neuroalign.models import DEFAULT_LAYERS, default_model

    world = synthetic.make_world(seed=0, n_per_category=40)
    layers = extract(default_model(), world.stimuli, DEFAULT_LAYERS, pool="mean", progress=False)
    table = encoding_scores(layers, world.fmri["sub-01"], device="cpu").to_frame()
    pearson = table[table.metric == "pearson"].pivot(
        index="layer", columns="region", values="score"
    )
    pearson = pearson.loc[list(DEFAULT_LAYERS)]
    early_best = list(DEFAULT_LAYERS).index(pearson["early"].idxmax())
    late_best = list(DEFAULT_LAYERS).index(pearson["late"].idxmax())
    assert early_best <= 1 and late_best >= 3
    assert pearson["late"].max() > 0.6
