"""Temporal-generalisation accuracy from class-by-class counts against argmax of all decisions."""

import numpy as np
import pytest
import torch

import neuroalign.decoding._generalization as generalization
from neuroalign.decoding._generalization import generalization_correct_counts
from neuroalign.decoding._solvers import LinearDecision
from neuroalign.decoding._time import generalization_decisions, generalization_scores


def tied_problem(rng, n_outputs, n_classes, n_samples=37, dtype=torch.float64):
    """Integer-valued weights and data, so decision values tie often, also at the maximum."""
    weights = torch.as_tensor(rng.integers(-1, 2, (5, 3, n_outputs)), dtype=dtype)
    bias = torch.as_tensor(rng.integers(-1, 2, (5, n_outputs)), dtype=dtype)
    X = torch.as_tensor(rng.integers(-1, 2, (4, n_samples, 3)), dtype=dtype)
    codes = torch.as_tensor(rng.integers(0, n_classes, n_samples))
    return LinearDecision(weights, bias), X, codes


def argmax_hits(decision, X, codes):
    """(n_train_times, n_test_times, n_samples) hits by NumPy's argmax of every decision."""
    values = generalization_decisions(decision, X).numpy()
    predicted = values.argmax(-1) if values.shape[-1] > 1 else (values[..., 0] > 0).astype(int)
    return predicted == codes.numpy()


@pytest.mark.parametrize(("n_outputs", "n_classes"), [(1, 2), (3, 3), (6, 6)])
@pytest.mark.parametrize("block", [1, 10**9])
def test_counts_follow_argmax_with_ties(rng, monkeypatch, n_outputs, n_classes, block):
    # Blocks of one test time and of all test times count alike.
    monkeypatch.setattr(generalization, "_VALUES_PER_BLOCK", block)
    decision, X, codes = tied_problem(rng, n_outputs, n_classes)
    hits = argmax_hits(decision, X, codes)
    correct, sizes = generalization_correct_counts(decision, X, codes, n_classes)
    expected = np.stack([hits[..., codes.numpy() == k].sum(-1) for k in range(n_classes)])
    np.testing.assert_array_equal(correct.numpy(), expected)
    np.testing.assert_array_equal(sizes.numpy(), np.bincount(codes.numpy(), minlength=n_classes))


def test_scores_leave_absent_classes_out(rng):
    decision, X, codes = tied_problem(rng, 4, 4)
    codes[codes == 2] = 3  # class 2 has no test sample
    hits = argmax_hits(decision, X, codes)
    accuracy = generalization_scores(decision, X, codes, 4, "accuracy")
    np.testing.assert_array_equal(accuracy.numpy(), hits.mean(-1))
    balanced = generalization_scores(decision, X, codes, 4, "balanced_accuracy")
    recalls = [hits[..., codes.numpy() == k].mean(-1) for k in (0, 1, 3)]
    np.testing.assert_allclose(balanced.numpy(), np.mean(recalls, 0), rtol=0, atol=1e-15)


def test_memory_budget_splits_test_times(rng):
    decision, X, codes = tied_problem(rng, 3, 3, dtype=torch.float32)
    whole, _ = generalization_correct_counts(decision, X, codes, 3)
    per_test_time = X.element_size() * 5 * 5 * int(np.bincount(codes.numpy()).max())
    split, _ = generalization_correct_counts(decision, X, codes, 3, max_memory=per_test_time)
    assert torch.equal(whole, split)
