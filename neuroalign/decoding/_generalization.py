"""Correct predictions of temporal generalisation, counted class by class without argmax.

Scoring accuracy over every (train time, test time) pair needs the largest of the
classifier outputs for every test sample: 80 M decision values per fold for 10 classes,
1,000 epochs and 200 time points. Here the test samples are grouped by true class, so a
block of one class's samples is one matrix product laid out (output, train time, test
time, sample), small enough for the caches. Under the first-maximum rule of ``argmax``, a
sample of class ``c`` is predicted correctly when its output ``c`` is larger than every
earlier output and at least every later one: two reductions over the contiguous output
planes and two comparisons, with no class index and no tie fallback. The bias enters the
product as a column of ones.
"""

import torch

from neuroalign._backend import plan_batches

__all__ = ["generalization_correct_counts"]

# Decision values per block of one class's test samples (about 2.5 MB in float32).
# 10 classes, 1,000 epochs, 200 time points: 0.9-1.3 s with blocks of 0.64-2.6 M values
# or whole folds, 1.7 s with 0.16 M, against 2.1 s for argmax-style scoring.
_VALUES_PER_BLOCK = 640_000


def generalization_correct_counts(decision, X, codes, n_classes, *, max_memory=None):
    """Correctly classified test samples of every class at every (train, test) time.

    Parameters
    ----------
    decision : LinearDecision
        Batch of ``n_train_times`` classifiers with ``n_outputs`` outputs (one output,
        the score of class 1, for two classes).
    X : Tensor of shape (n_test_times, n_samples, n_features)
    codes : Tensor of int64 of shape (n_samples,)
        True class of every test sample, in ``range(n_classes)``.
    n_classes : int
    max_memory : int or str, optional

    Returns
    -------
    correct : Tensor of int64 of shape (n_classes, n_train_times, n_test_times)
        Samples of each class whose predicted class (first largest output) is their own.
    class_sizes : Tensor of int64 of shape (n_classes,)
    """
    n_test_times, _, n_features = X.shape
    n_train_times, _, n_outputs = decision.weights.shape
    codes = codes.to(X.device)
    class_sizes = torch.bincount(codes, minlength=n_classes)
    groups = _class_major_test_data(X, codes, class_sizes)
    rows = torch.cat([decision.weights.permute(2, 0, 1), decision.bias.T[:, :, None]], dim=2)
    rows = rows.to(X.dtype).reshape(n_outputs * n_train_times, n_features + 1)
    per_test_time = n_train_times * int(class_sizes.max())
    block = max(1, _VALUES_PER_BLOCK // (n_outputs * per_test_time))
    batches = plan_batches(
        n_test_times,
        X.element_size() * (n_outputs + 2) * per_test_time,
        max_memory,
        device=X.device,
        largest=block if X.device.type == "cpu" else None,
    )
    longest = batches[0].stop - batches[0].start
    values = X.new_empty(n_outputs * per_test_time * longest)
    work = X.new_empty(2, per_test_time * longest)
    correct = torch.zeros(
        n_classes, n_train_times, n_test_times, dtype=torch.int64, device=X.device
    )
    for batch in batches:
        for code, group in enumerate(groups):
            samples = group[batch].reshape(-1, n_features + 1)
            if samples.shape[0] == 0:
                continue
            products = values[: n_outputs * n_train_times * samples.shape[0]]
            torch.mm(rows, samples.T, out=products.view(-1, samples.shape[0]))
            hits = _first_maximum_hits(products.view(n_outputs, -1), code, work)
            correct[code, :, batch] = hits.view(n_train_times, -1, group.shape[1]).sum(-1)
    return correct, class_sizes


def _class_major_test_data(X, codes, class_sizes):
    """Per class, its test samples as (n_test_times, n_class_samples, n_features + 1).

    The last feature is 1 (it multiplies the bias), and each class's block of test
    times is contiguous, so it enters the product without a copy.
    """
    n_test_times, _, n_features = X.shape
    order = torch.argsort(codes, stable=True).split(class_sizes.tolist())
    groups = []
    for members in order:
        group = X.new_empty(n_test_times, len(members), n_features + 1)
        group[..., :n_features] = X[:, members]
        group[..., n_features] = 1.0
        groups.append(group)
    return groups


def _first_maximum_hits(planes, code, work):
    """Whether ``argmax`` over the outputs picks ``code``, for samples of class ``code``.

    Parameters
    ----------
    planes : Tensor of shape (n_outputs, n_values)
        Decision values, one contiguous plane per output.
    code : int
    work : Tensor of shape (2, at least n_values)
        Buffers for the largest earlier and later outputs.

    Returns
    -------
    hits : Tensor of bool of shape (n_values,)
    """
    if planes.shape[0] == 1:  # one output, the score of class 1
        return planes[0] > 0 if code == 1 else planes[0] <= 0
    own = planes[code]
    earlier, later = work[0, : planes.shape[1]], work[1, : planes.shape[1]]
    hits = None
    if code > 0:
        hits = own > torch.amax(planes[:code], 0, out=earlier)
    if code < planes.shape[0] - 1:
        at_least_later = own >= torch.amax(planes[code + 1 :], 0, out=later)
        hits = at_least_later if hits is None else hits.logical_and_(at_least_later)
    return hits
