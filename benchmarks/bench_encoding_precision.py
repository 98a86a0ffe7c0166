"""Float32 ridge CV against float64 on the same data: neuroalign and himalaya, one process.

For three kinds of features (power-law ReLU activations, like a network layer; white
Gaussian; Gaussian with large means) and two scorings, fits ``solve_ridge_cv`` in
float64 (the reference), then neuroalign and himalaya ``RidgeCV`` (torch backend) in
float32 on the same data, folds and alphas, and prints the share of targets whose best
alpha equals the float64 one and neuroalign's largest validation-score error.

Usage: ``python benchmarks/bench_encoding_precision.py [--samples 800] [--features 400]
[--targets 3000]``.
"""

import argparse

import numpy as np


def features(kind, n_samples, n_features, rng):
    """(n_samples, n_features) features of one kind."""
    if kind == "power-law ReLU":
        latent = rng.standard_normal((n_samples, n_features)) / np.arange(1, n_features + 1)
        return np.maximum(latent @ rng.standard_normal((n_features, n_features)), 0)
    if kind == "Gaussian":
        return rng.standard_normal((n_samples, n_features))
    return rng.standard_normal((n_samples, n_features)) + 50.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=800)
    parser.add_argument("--features", type=int, default=400)
    parser.add_argument("--targets", type=int, default=3000)
    args = parser.parse_args()
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score, r2_score

    from neuroalign.encoding import solve_ridge_cv

    set_backend("torch")
    rng = np.random.default_rng(0)
    alphas = np.logspace(-3, 6, 12)
    print(
        f"{args.samples} samples x {args.features} features x {args.targets} targets, "
        f"{len(alphas)} alphas, 5 folds; share of best alphas equal to float64's"
    )
    for kind in ("power-law ReLU", "Gaussian", "Gaussian + 50"):
        X = features(kind, args.samples, args.features, rng)
        weights = rng.standard_normal((args.features, args.targets)) / np.sqrt(args.features)
        signal = X @ (weights * rng.uniform(0, 1, args.targets)) / X.std()
        Y = signal + rng.standard_normal((args.samples, args.targets))
        X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
        for scoring, score_func in (("r2", r2_score), ("pearson", correlation_score)):
            exact = solve_ridge_cv(X, Y, alphas, scoring=scoring, dtype="float64", device="cpu")
            ours = solve_ridge_cv(X32, Y32, alphas, scoring=scoring, dtype="float32", device="cpu")
            theirs = RidgeCV(alphas=alphas, cv=5, solver_params={"score_func": score_func}).fit(
                X32, Y32
            )
            reference = exact.best_alphas.numpy()
            himalaya_alphas = np.asarray(theirs.best_alphas_.cpu(), dtype=np.float64)
            same_ours = (ours.best_alphas.numpy() == reference).mean()
            same_theirs = np.isclose(himalaya_alphas, reference, rtol=1e-5).mean()
            error = np.abs(ours.cv_scores.numpy() - exact.cv_scores.numpy()).max()
            print(
                f"{kind:15s} {scoring:8s} neuroalign float32: {same_ours:.4f} "
                f"(max score error {error:.1e}); himalaya float32: {same_theirs:.4f}"
            )


if __name__ == "__main__":
    main()
