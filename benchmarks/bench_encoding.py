"""Ridge CV with per-target alphas: neuroalign vs himalaya vs scikit-learn, one process.

Prints the problem size, the median wall time of each tool over ``--repeats`` runs,
the ratios, and the agreement (share of identical best alphas, largest difference of
test predictions relative to their scale). Problems:

- ``tall``: 2,000 train / 400 test stimuli x 1,000 features x 20,000 targets, 10 alphas,
  5 folds (primal form);
- ``wide``: 1,000 stimuli x 8,000 features (dual form);
- ``huge``: 200,000 targets within a memory budget (neuroalign only; peak memory printed).

Usage: ``python benchmarks/bench_encoding.py [--problem tall|wide|huge] [--quick]
[--device cpu|cuda] [--repeats N] [--no-sklearn]``.
"""

import argparse
import resource

import numpy as np
import torch
from _timing import timed


def make_problem(n_train, n_test, n_features, n_targets, seed=0, block=10_000):
    """Targets linear in the features plus noise, with a spread of signal-to-noise ratios.

    Targets are generated in blocks so that the peak memory of the process is the
    inputs themselves, not temporaries of their generation.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, n_features), dtype=np.float32)
    Y = np.empty((n_train + n_test, n_targets), dtype=np.float32)
    for start in range(0, n_targets, block):
        width = min(block, n_targets - start)
        weights = rng.standard_normal((n_features, width), dtype=np.float32)
        weights *= (rng.uniform(0.0, 2.0, width) / np.sqrt(n_features)).astype(np.float32)
        noise = rng.standard_normal((n_train + n_test, width), dtype=np.float32)
        Y[:, start : start + width] = X @ weights + noise
    return X[:n_train], Y[:n_train], X[n_train:]


def run_neuroalign(X, Y, alphas, device, max_memory=None, method="auto"):
    from neuroalign.encoding import solve_ridge_cv

    result = solve_ridge_cv(
        X, Y, alphas, cv=5, scoring="r2", device=device, max_memory=max_memory, method=method
    )
    return result.best_alphas.numpy(), lambda X_test: result.predict(X_test).numpy()


def run_himalaya(X, Y, alphas, device, kernel=False):
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import r2_score

    backend = set_backend("torch_cuda" if device == "cuda" else "torch", on_error="raise")
    options = {"alphas": alphas, "cv": 5, "solver_params": {"score_func": r2_score}}
    if kernel:
        model = KernelRidgeCV(kernel="linear", fit_intercept=True, **options)
    else:
        model = RidgeCV(fit_intercept=True, **options)
    model.fit(X, Y)
    return backend.to_numpy(model.best_alphas_), lambda X_test: backend.to_numpy(
        model.predict(X_test)
    )


def run_sklearn(X, Y, alphas):
    from sklearn.linear_model import RidgeCV

    # alpha_per_target needs scikit-learn's efficient leave-one-out CV (cv=None).
    model = RidgeCV(alphas=alphas, alpha_per_target=True)
    model.fit(X, Y)
    return np.asarray(model.alpha_), model.predict


def refit_check(X, Y, X_test, ours, n_targets=50):
    from sklearn.linear_model import Ridge

    best_alphas, predict = ours
    reference = np.column_stack(
        [Ridge(alpha=best_alphas[j]).fit(X, Y[:, j]).predict(X_test) for j in range(n_targets)]
    )
    return np.abs(predict(X_test)[:, :n_targets] - reference).max() / np.abs(reference).max()


def agreement(reference, candidate, X_test):
    alphas_same = np.isclose(reference[0], candidate[0], rtol=1e-5).mean()
    pred_ref, pred = reference[1](X_test), candidate[1](X_test)
    scale = np.abs(pred_ref).max()
    return alphas_same, np.abs(pred_ref - pred).max() / scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=("tall", "wide", "huge"), default="tall")
    parser.add_argument("--quick", action="store_true", help="a tenth of the targets")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--max-memory", default="2GB", help="budget for --problem huge")
    args = parser.parse_args()
    sizes = {
        "tall": (2000, 400, 1000, 20000),
        "wide": (1000, 200, 8000, 20000),
        "huge": (2000, 400, 1000, 200000),
    }[args.problem]
    n_train, n_test, n_features, n_targets = sizes
    if args.quick:
        n_targets //= 10
    alphas = np.logspace(-1, 4, 10)
    X, Y, X_test = make_problem(n_train, n_test, n_features, n_targets)
    print(
        f"problem {args.problem}: {n_train} train / {n_test} test samples x {n_features} features "
        f"x {n_targets} targets, {len(alphas)} alphas, 5 folds, device {args.device}, "
        f"torch threads {torch.get_num_threads()}, median of {args.repeats}"
    )
    if args.problem == "huge":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        seconds, _ = timed(lambda: run_neuroalign(X, Y, alphas, args.device, args.max_memory), 1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        outputs = n_features * n_targets * 4 / 2**30
        print(
            f"neuroalign: {seconds:.1f} s with max_memory={args.max_memory}; peak RSS "
            f"{before:.2f} GiB before the solve (inputs {(X.nbytes + Y.nbytes) / 2**30:.2f} GiB) "
            f"and {peak:.2f} GiB after it (+{peak - before:.2f} GiB, of which the returned "
            f"weights are {outputs:.2f} GiB)"
        )
        return
    t_ours, ours = timed(lambda: run_neuroalign(X, Y, alphas, args.device), args.repeats)
    print(f"neuroalign: {t_ours:.2f} s")
    wide = args.problem == "wide"
    name = "himalaya KernelRidgeCV" if wide else "himalaya RidgeCV"
    t_him, him = timed(lambda: run_himalaya(X, Y, alphas, args.device, wide), args.repeats)
    same, diff = agreement(him, ours, X_test)
    print(
        f"{name}: {t_him:.2f} s  -> neuroalign is {t_him / t_ours:.2f}x faster; "
        f"same best alphas {same:.4f}, max |pred diff| / max |pred| {diff:.2e}"
    )
    if not args.no_sklearn:
        t_sk, sk = timed(lambda: run_sklearn(X, Y, alphas), 1)
        same, _ = agreement(sk, ours, X_test)
        print(
            f"sklearn:    {t_sk:.2f} s (1 run, leave-one-out CV) -> neuroalign is "
            f"{t_sk / t_ours:.2f}x faster; same best alphas {same:.4f} (different CV scheme)"
        )
        print(
            f"refit check: {refit_check(X, Y, X_test, ours):.2e} max relative difference "
            "between neuroalign's and sklearn.linear_model.Ridge's predictions at "
            "neuroalign's alphas (first 50 targets)"
        )


if __name__ == "__main__":
    main()
