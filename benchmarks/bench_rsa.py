"""RSA: neuroalign vs rsatoolbox 0.3 on the same problems, in one process.

Prints the problem size, the median wall time of neuroalign over ``--repeats``
runs, the time of rsatoolbox, their ratio and the numerical agreement. Problems:

- ``rdms``: correlation and euclidean RDMs of 20 layers x 92 stimuli x 4,096
  features, and correlation / crossnobis RDMs of 20 recordings of 4 runs of the
  92 stimuli x 4,096 channels (rsatoolbox: ``calc_rdm`` on a list of 20 datasets);
- ``bootstrap``: 20 model RDMs x 8 subject RDMs x 92 stimuli, rho-a, pattern
  bootstrap with 1,000 samples and the per-sample noise ceiling
  (rsatoolbox: ``eval_bootstrap_pattern``, run once: it takes minutes). Both use
  the same seed, so the samples are the same and agreement is exact up to the
  float32 rank kernels;
- ``large``: 1,000 stimuli (499,500 pairs): RDMs of 10 layers x 2,048 features,
  then 5 models x 4 subjects, rho-a, 100 pattern-bootstrap samples, within a
  1 GB budget, in a child process whose peak resident memory is printed
  (neuroalign only).

Usage: ``python benchmarks/bench_rsa.py [--quick] [--device cpu|cuda] [--repeats N]
[--skip-reference]``. ``--quick`` shrinks every problem (used as a smoke test).
"""

import argparse
import contextlib
import io
import multiprocessing
import resource
import time
import warnings

import numpy as np
import torch
from _timing import timed

FULL = {
    "rdm_layers": 20,
    "rdm_features": 4096,
    "n_stimuli": 92,
    "n_models": 20,
    "n_subjects": 8,
    "n_bootstrap": 1000,
    "large_stimuli": 1000,
    "large_bootstrap": 100,
}
QUICK = {
    "rdm_layers": 4,
    "rdm_features": 256,
    "n_stimuli": 30,
    "n_models": 5,
    "n_subjects": 4,
    "n_bootstrap": 40,
    "large_stimuli": 200,
    "large_bootstrap": 10,
}


def quiet(function):
    """Run an rsatoolbox call without its progress bars and warnings."""
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function()


def make_rdm_problem(sizes, seed=0):
    rng = np.random.default_rng(seed)
    shape = (sizes["rdm_layers"], sizes["n_stimuli"], sizes["rdm_features"])
    return rng.standard_normal(shape, dtype=np.float32)


def make_bootstrap_problem(sizes, seed=1):
    """Subject RDMs of noisy copies of true patterns; model RDMs at several noise levels,
    a quarter of them categorical (tied dissimilarities)."""
    from neuroalign.rsa import compute_rdms

    rng = np.random.default_rng(seed)
    n, n_features = sizes["n_stimuli"], 100
    truth = rng.standard_normal((n, n_features))
    subjects = truth + 1.5 * rng.standard_normal((sizes["n_subjects"], n, n_features))
    noise = np.linspace(0.5, 4, sizes["n_models"])[:, None, None]
    models = truth + noise * rng.standard_normal((sizes["n_models"], n, n_features))
    data = compute_rdms(subjects, dtype="float64").values
    model_rdms = compute_rdms(models, dtype="float64").values
    n_categorical = sizes["n_models"] // 4
    for k in range(n_categorical):
        labels = rng.integers(0, 3 + k, size=n)
        model_rdms[k] = (labels[:, None] != labels[None, :])[np.triu_indices(n, 1)]
    return model_rdms, data


def _compare_rdms(label, ours_call, reference_call, repeats):
    ours_time, ours = timed(ours_call, repeats)
    ref_time, ref = timed(lambda: quiet(reference_call), repeats)
    ref = ref.get_vectors()
    error = np.abs(ours.values - ref).max() / np.abs(ref).max()
    print(
        f"  {label:<34} neuroalign {ours_time * 1e3:8.1f} ms | rsatoolbox {ref_time * 1e3:8.1f} ms"
        f" | ratio {ref_time / ours_time:6.1f}x | max rel. diff. {error:.1e}"
    )


def bench_rdms(sizes, device, repeats):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    from neuroalign.rsa import compute_rdms

    layers = make_rdm_problem(sizes)
    n_layers, n, n_features = layers.shape
    print(
        f"\n[rdms] {n_layers} sources x {n} stimuli x {n_features} features "
        "(neuroalign float32, rsatoolbox float64)"
    )
    datasets = [Dataset(layer.astype(np.float64)) for layer in layers]
    for method in ("correlation", "euclidean"):
        _compare_rdms(
            f"{method}, one row per stimulus",
            lambda m=method: compute_rdms(layers, method=m, device=device),
            lambda m=method: calc_rdm(datasets, method=m),
            repeats,
        )
    n_runs = 4
    ids = np.tile(np.arange(n), n_runs)
    runs = np.repeat(np.arange(n_runs), n)
    rng = np.random.default_rng(2)
    recordings = np.concatenate([layers] * n_runs, axis=1)
    recordings += rng.standard_normal(recordings.shape, dtype=np.float32)
    descriptors = {"conds": ids, "runs": runs}
    datasets = [Dataset(r.astype(np.float64), obs_descriptors=descriptors) for r in recordings]
    for method in ("correlation", "crossnobis"):
        _compare_rdms(
            f"{method}, {n_runs} runs of each stimulus",
            lambda m=method: compute_rdms(
                recordings, method=m, stimulus_ids=ids, cv_groups=runs, device=device
            ),
            lambda m=method: calc_rdm(datasets, method=m, descriptor="conds", cv_descriptor="runs"),
            repeats,
        )


def bench_bootstrap(sizes, device, repeats, skip_reference):
    from rsatoolbox.inference import eval_bootstrap_pattern
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    from neuroalign.rsa import evaluate

    models, data = make_bootstrap_problem(sizes)
    n_bootstrap = sizes["n_bootstrap"]
    print(
        f"\n[bootstrap] {sizes['n_models']} models x {sizes['n_subjects']} subjects x "
        f"{sizes['n_stimuli']} stimuli x {n_bootstrap} pattern-bootstrap samples, rho-a"
    )

    def ours():
        return evaluate(
            models, data, method="rho_a", n_bootstrap=n_bootstrap, seed=7, device=device
        )

    ours_time, result = timed(ours, repeats)
    print(f"  neuroalign (float32 rank kernels) {ours_time:8.2f} s (median of {repeats})")
    exact_time, exact = timed(
        lambda: evaluate(
            models,
            data,
            method="rho_a",
            n_bootstrap=n_bootstrap,
            seed=7,
            device=device,
            dtype="float64",
        ),
        1,
    )
    print(f"  neuroalign (float64)              {exact_time:8.2f} s (1 run)")
    if skip_reference:
        return
    fixed = [ModelFixed(f"m{i}", RDMs(m[None])) for i, m in enumerate(models)]

    def reference():
        np.random.seed(7)
        return quiet(
            lambda: eval_bootstrap_pattern(fixed, RDMs(data), method="rho-a", N=n_bootstrap)
        )

    ref_time, ref = timed(reference, 1)
    print(
        f"  rsatoolbox eval_bootstrap_pattern {ref_time:8.2f} s (1 run, same {n_bootstrap} samples)"
    )
    print(
        f"  ratio {ref_time / ours_time:6.1f}x (float32), {ref_time / exact_time:6.1f}x (float64)"
    )
    for label, res in (("float32", result), ("float64", exact)):
        mean_error = np.abs(res.bootstrap_mean - ref.get_means()).max()
        se_error = np.abs(res.se / ref.get_sem() - 1).max()
        ceiling = np.abs(
            np.nanmean(res.noise_ceiling_samples, 0) - np.nanmean(ref.noise_ceiling, 1)
        )
        print(
            f"  agreement ({label}): bootstrap means max |diff| {mean_error:.1e}, SEs max rel. "
            f"diff {se_error:.1e}, mean noise ceiling max |diff| {ceiling.max():.1e}"
        )
    print(
        "  point estimates (mean over subjects on all stimuli): identical to rsatoolbox "
        "eval_fixed in float64"
    )


def _peak_memory_mib():
    """Peak resident memory of this process (VmHWM; ru_maxrss would include the parent's
    peak inherited at fork)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _large_child(sizes, device, queue):
    from neuroalign.rsa import compute_rdms, evaluate

    rng = np.random.default_rng(3)
    n = sizes["large_stimuli"]
    start = time.perf_counter()
    layers = rng.standard_normal((10, n, 2048), dtype=np.float32)
    rdms = compute_rdms(layers, device=device, max_memory="1GB")
    rdm_time = time.perf_counter() - start
    truth = rdms.values[0]
    data = truth + rng.random((4, truth.size))
    models = rdms.values[:5]
    start = time.perf_counter()
    result = evaluate(
        models,
        data,
        method="rho_a",
        n_bootstrap=sizes["large_bootstrap"],
        seed=0,
        device=device,
        max_memory="1GB",
    )
    eval_time = time.perf_counter() - start
    queue.put((rdm_time, eval_time, _peak_memory_mib(), result.scores[:2].tolist()))


def bench_large(sizes, device):
    n = sizes["large_stimuli"]
    print(
        f"\n[large] {n} stimuli ({n * (n - 1) // 2:,} pairs): 10 layers x 2048 features, then "
        f"5 models x 4 subjects x {sizes['large_bootstrap']} bootstrap samples, max_memory=1GB"
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_large_child, args=(sizes, device, queue))
    process.start()
    rdm_time, eval_time, peak, scores = queue.get()
    process.join()
    print(
        f"  compute_rdms {rdm_time:6.2f} s | evaluate {eval_time:6.2f} s | peak resident memory "
        f"{peak:,.0f} MiB (whole child process, incl. ~330 MiB for Python + torch)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-reference", action="store_true", help="skip the rsatoolbox bootstrap"
    )
    parser.add_argument("--problem", choices=["all", "rdms", "bootstrap", "large"], default="all")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(
        f"machine: {torch.get_num_threads()} torch threads, device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else "")
    )
    if args.problem in ("all", "rdms"):
        bench_rdms(sizes, args.device, args.repeats)
    if args.problem in ("all", "bootstrap"):
        bench_bootstrap(sizes, args.device, args.repeats, args.skip_reference)
    if args.problem in ("all", "large"):
        bench_large(sizes, args.device)


if __name__ == "__main__":
    main()
