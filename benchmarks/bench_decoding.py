"""Time-resolved decoding: neuroalign vs MNE's Sliding/GeneralizingEstimator, one process.

Prints the problem size, the median wall time of each tool over ``--repeats`` runs
(MNE: one run), the ratio and the largest difference between the cross-validated
score curves (same stratified folds, same standardise + classify pipeline). Problems:

- ``binary``: 400 epochs x 64 channels x 200 times, 2 classes, 5 folds; ridge,
  logistic and shrinkage LDA sliding decoding, ridge temporal generalisation (AUC);
- ``multiclass``: 1,000 epochs x 64 channels x 200 times, 10 classes, 5 folds;
  ridge, shrinkage LDA and multinomial logistic sliding decoding, each scored by
  accuracy and by one-vs-rest ROC AUC (the macro average of each class's AUC of its
  decision values; MNE gets the same from scikit-learn's ``roc_auc_score`` on the
  class-indicator matrix, since its ``roc_auc_ovr`` scorer needs probabilities), and
  ridge temporal generalisation scored by accuracy (MNE calls its scorer once per
  train/test time pair);
- ``features``: feature regression over time through ``decode`` (320 stimuli x 64
  channels x 50 times -> 512 features, 5 folds, an alpha per feature and time point by
  5 inner folds and Pearson r) against a per-time-point loop of himalaya's ``RidgeCV``
  (float64, the same inner folds and score) and against one ``solve_ridge_cv`` per time
  point (neuroalign before time was batched); scores are the fold's mean Pearson r;
- ``permutations`` (``--problem permutations``, not part of ``all``): null curves of
  ``--permutations`` label permutations of the binary problem on fixed folds, ridge and
  logistic sliding AUC (the null of ``decoding_permutation_test``); MNE is timed on two
  permutations and scaled.

Both problems run at full size by default; ``--quick`` runs a quarter of the epochs
and times as a smoke test.

Usage: ``python benchmarks/bench_decoding.py [--problem all|binary|multiclass|features|permutations]
[--permutations N] [--quick] [--device cpu|cuda] [--repeats N] [--n-jobs N]``.
"""

import argparse

import numpy as np
import torch
from _timing import timed


def make_problem(n_epochs, n_channels, n_times, n_classes, seed=0):
    """Gaussian epochs with a class-specific spatial pattern that rises after the middle."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_epochs) % n_classes
    rng.shuffle(y)
    X = rng.standard_normal((n_epochs, n_channels, n_times), dtype=np.float32)
    patterns = rng.standard_normal((n_classes, n_channels)).astype(np.float32) * 0.3
    envelope = np.clip(np.linspace(-1.0, 1.0, n_times), 0.0, None).astype(np.float32)
    X += patterns[y][:, :, None] * envelope[None, None, :]
    return X, y


def reference_pipeline(classifier):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = {
        "ridge": RidgeClassifier,
        "logistic": LogisticRegression,
        "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
    }[classifier]()
    return make_pipeline(StandardScaler(), estimator)


def one_vs_rest_auc_scorer():
    """Macro-averaged one-vs-rest ROC AUC of decision values, as neuroalign scores it."""
    from sklearn.metrics import make_scorer, roc_auc_score

    def macro_auc(y, decisions):
        indicator = y[:, None] == np.arange(decisions.shape[1])
        return roc_auc_score(indicator, decisions, average="macro")

    return make_scorer(macro_auc, response_method="decision_function")


def run_mne(X, y, classifier, scoring, generalize, n_jobs, cv=None):
    import mne
    from mne.decoding import GeneralizingEstimator, SlidingEstimator, cross_val_multiscore
    from sklearn.model_selection import StratifiedKFold

    mne.set_log_level("ERROR")
    if scoring == "roc_auc" and len(np.unique(y)) > 2:
        scoring = one_vs_rest_auc_scorer()
    kind = GeneralizingEstimator if generalize else SlidingEstimator
    estimator = kind(reference_pipeline(classifier), scoring=scoring, n_jobs=n_jobs, verbose=False)
    cv = StratifiedKFold(5) if cv is None else cv
    return cross_val_multiscore(estimator, X, y, cv=cv).mean(0)


def run_neuroalign(X, y, classifier, scoring, generalize, device):
    from neuroalign.decoding import decode_over_time

    result = decode_over_time(
        X, y, classifier=classifier, scoring=scoring, generalize=generalize, device=device
    )
    return result.mean


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problem",
        choices=("all", "binary", "multiclass", "features", "permutations"),
        default="all",
    )
    parser.add_argument(
        "--permutations", type=int, default=100, help="label permutations of that problem"
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of epochs and times")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1, help="MNE's n_jobs")
    args = parser.parse_args()
    # Both tools' imports come before any timing.
    import mne.decoding  # noqa: F401
    import sklearn.discriminant_analysis  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    problems = ("binary", "multiclass", "features") if args.problem == "all" else (args.problem,)
    for problem in problems:
        if problem == "permutations":
            run_permutations(args)
        elif problem == "features":
            run_features(args)
        else:
            run_problem(problem, args)


def run_problem(problem, args):
    """Time every case of one problem through both tools and print one line per case."""
    n_epochs, n_classes = (400, 2) if problem == "binary" else (1000, 10)
    n_channels, n_times = 64, 200
    if args.quick:
        n_epochs, n_times = n_epochs // 4, n_times // 4
    X, y = make_problem(n_epochs, n_channels, n_times, n_classes)
    print(
        f"problem {problem}: {n_epochs} epochs x {n_channels} channels x {n_times} times, "
        f"{n_classes} classes, 5 folds, device {args.device}, torch threads "
        f"{torch.get_num_threads()}, neuroalign median of {args.repeats}, MNE 1 run "
        f"(n_jobs={args.n_jobs})"
    )
    if problem == "binary":
        cases = [
            ("ridge", "roc_auc", False),
            ("logistic", "roc_auc", False),
            ("lda", "roc_auc", False),
            ("ridge", "roc_auc", True),
        ]
    else:
        cases = [
            (classifier, scoring, False)
            for classifier in ("ridge", "lda", "logistic")
            for scoring in ("accuracy", "roc_auc")
        ] + [("ridge", "accuracy", True)]
    run_neuroalign(X[:, :, :5], y, "ridge", "accuracy", False, args.device)  # warm-up
    for classifier, scoring, generalize in cases:
        label = f"{classifier} {'generalizing' if generalize else 'sliding'} {scoring}"
        options = (classifier, scoring, generalize)
        t_ours, ours = timed(
            lambda options=options: run_neuroalign(X, y, *options, args.device), args.repeats
        )
        t_mne, reference = timed(lambda options=options: run_mne(X, y, *options, args.n_jobs), 1)
        print(
            f"{label:36s} neuroalign {t_ours:7.3f} s | MNE {t_mne:7.2f} s -> "
            f"{t_mne / t_ours:6.1f}x faster; max |score difference| "
            f"{np.abs(ours - reference).max():.2e}",
            flush=True,
        )


def feature_scores_per_time_point(X, features, fit_predict):
    """Mean Pearson r over features, (fold, time), from one fit per fold and time point."""
    from neuroalign.encoding import make_folds
    from neuroalign.stats import pearson_r

    folds = make_folds(len(features), 5)
    scores = np.empty((len(folds), X.shape[-1]))
    for f, (train, test) in enumerate(folds):
        for t in range(X.shape[-1]):
            predicted = fit_predict(X[train, :, t], features[train], X[test, :, t])
            scores[f, t] = pearson_r(features[test], predicted).mean()
    return scores


def run_features(args):
    """Feature regression over time: ``decode`` against one fit per time point."""
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score

    from neuroalign.data import responses
    from neuroalign.decoding import decode
    from neuroalign.encoding import DEFAULT_ALPHAS, solve_ridge_cv

    n_stimuli, n_channels, n_times, n_features = 320, 64, 50, 512
    if args.quick:
        n_stimuli, n_times = n_stimuli // 2, n_times // 4
    rng = np.random.default_rng(0)
    features = rng.standard_normal((n_stimuli, n_features))
    mixing = rng.standard_normal((n_features, n_channels)) * 0.05
    envelope = np.clip(np.linspace(-1.0, 1.0, n_times), 0.0, None)
    X = rng.standard_normal((n_stimuli, n_channels, n_times))
    X += (features @ mixing)[:, :, None] * envelope
    ids = [f"s{i}" for i in range(n_stimuli)]
    recording = responses(X, ids, modality="meg", times=np.arange(n_times) / 100.0)
    alphas = np.asarray(DEFAULT_ALPHAS)
    print(
        f"problem features: {n_stimuli} stimuli x {n_channels} channels x {n_times} times -> "
        f"{n_features} features, 5 folds, {len(alphas)} alphas, 5 inner folds, device "
        f"{args.device}, torch threads {torch.get_num_threads()}, neuroalign median of "
        f"{args.repeats}, references 1 run"
    )
    set_backend("torch_cuda" if args.device == "cuda" else "torch", on_error="raise")

    def himalaya_fit_predict(X_train, Y_train, X_test):
        model = RidgeCV(
            alphas=alphas,
            fit_intercept=True,
            cv=5,
            solver_params={"score_func": correlation_score},
        )
        return np.asarray(model.fit(X_train, Y_train).predict(X_test).cpu())

    def per_time_point_fit_predict(X_train, Y_train, X_test):
        fit = solve_ridge_cv(X_train, Y_train, alphas, device=args.device)
        return fit.predict(X_test).double().numpy()

    t_ours, ours = timed(
        lambda: decode(recording, features, cv=5, device=args.device).scores.values,
        args.repeats,
    )
    references = [
        ("himalaya RidgeCV per time point", himalaya_fit_predict),
        ("solve_ridge_cv per time point", per_time_point_fit_predict),
    ]
    for name, fit_predict in references:
        t_ref, reference = timed(
            lambda fit_predict=fit_predict: feature_scores_per_time_point(X, features, fit_predict),
            1,
        )
        print(
            f"{'decode vs ' + name:44s} neuroalign {t_ours:7.3f} s | {t_ref:7.2f} s -> "
            f"{t_ref / t_ours:6.1f}x faster; max |score difference| "
            f"{np.abs(ours - reference).max():.2e}",
            flush=True,
        )


def run_permutations(args):
    """Null curves of label permutations (the binary problem, sliding AUC, fixed folds).

    neuroalign solves all permutations of a fold at once (ridge) or fits 16
    permutations' folds in one batched run (logistic regression); MNE decodes each
    permutation on its own, timed on two of them and scaled to all.
    """
    from sklearn.model_selection import StratifiedKFold

    from neuroalign.decoding._time import relabelled_curves

    n_epochs, n_channels, n_times = 400, 64, 200
    if args.quick:
        n_epochs, n_times = n_epochs // 4, n_times // 4
    X, y = make_problem(n_epochs, n_channels, n_times, 2)
    folds = list(StratifiedKFold(5).split(X[:, :, 0], y))
    rng = np.random.default_rng(1)
    permuted = [rng.permutation(y) for _ in range(args.permutations)]
    print(
        f"problem permutations: {n_epochs} epochs x {n_channels} channels x {n_times} times, "
        f"2 classes, 5 folds, {args.permutations} permutations, device {args.device}, "
        f"neuroalign median of {args.repeats}, MNE 2 permutations (n_jobs={args.n_jobs})"
    )
    relabelled_curves(X[:, :, :5], permuted[:2], folds, device=args.device)  # warm-up
    for classifier in ("ridge", "logistic"):
        t_ours, null = timed(
            lambda classifier=classifier: relabelled_curves(
                X, permuted, folds, classifier=classifier, device=args.device
            ),
            args.repeats,
        )
        t_mne, reference = timed(
            lambda classifier=classifier: [
                run_mne(X, p, classifier, "roc_auc", False, args.n_jobs, folds)
                for p in permuted[:2]
            ],
            1,
        )
        t_mne *= args.permutations / 2
        print(
            f"{classifier + ' sliding roc_auc null':36s} neuroalign {t_ours:7.3f} s | MNE "
            f"{t_mne:7.1f} s (scaled from 2) -> {t_mne / t_ours:6.1f}x faster; max |null "
            f"difference| {np.abs(null[:2] - np.stack(reference)).max():.2e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
