"""``neuroalign demo``: the synthetic study end to end, checked against its ground truth.

The demo runs ``experiments/demo.yaml`` (encoding, RSA and EEG-fMRI fusion of the
default network's layers with simulated fMRI, EEG and spiking subjects) through the
experiment runner, writes the result table, figures and the HTML report, and checks
the numbers against what the synthetic world was built from
(:func:`check_ground_truth`).
"""

import copy
import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

__all__ = ["DEMO_EXPERIMENT", "DemoResult", "check_ground_truth", "demo_config", "run_demo"]

logger = logging.getLogger("neuroalign")

# Package data, so installed wheels have it too; experiments/demo.yaml links to it.
DEMO_EXPERIMENT = Path(__file__).resolve().parent / "_data" / "demo.yaml"
# Resampling in the quick demo: enough for stable point estimates, cheap on 2 cores.
_QUICK = {"n_bootstrap": 20, "n_permutations": 100}


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` wrote.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    files : list of pathlib.Path
        Result files relative to ``out``: table, run record, figures, report.
    seconds : float
        Wall time of the run.
    checks : dict of str to dict
        :func:`check_ground_truth` of the results.
    table : pandas.DataFrame
        The result table.
    """

    out: Path
    files: list
    seconds: float
    checks: dict
    table: object


def demo_config(*, quick=False, seed=0, device="auto", batch_size=None):
    """The demo experiment, adjusted for a quick run, a seed and a device.

    Parameters
    ----------
    quick : bool, default=False
        The small world (40 stimuli) and fewer resamples.
    seed : int, default=0
    device : str, default="auto"
    batch_size : int, optional
        Stimuli per forward pass of the network; default the experiment's.

    Returns
    -------
    config : dict
        Ready for :func:`neuroalign.experiment.run_experiment`.

    Raises
    ------
    FileNotFoundError
        If the demo experiment is missing from the installed package.
    """
    import yaml

    if not DEMO_EXPERIMENT.is_file():
        raise FileNotFoundError(
            f"The demo experiment {str(DEMO_EXPERIMENT)!r} is missing; reinstall neuroalign."
        )
    config = copy.deepcopy(yaml.safe_load(DEMO_EXPERIMENT.read_text()))
    config["seed"], config["device"] = seed, device
    for source in config["sources"].values():
        if source.get("adapter") == "synthetic":
            options = {**source.get("options", {}), "seed": seed, "quick": quick}
            if quick:
                options.pop("n_per_category", None)
            source["options"] = options
    if batch_size is not None:
        for model in config["models"].values():
            model["batch_size"] = batch_size
    if quick:
        for analysis in config["analyses"]:
            for key, value in _QUICK.items():
                if key in analysis:
                    analysis[key] = value
    return config


def _mean_profile(table, method, metric, source):
    rows = table[
        (table["method"] == method)
        & (table["metric"] == metric)
        & (table["source"] == source)
        & table["time"].isna()
    ]
    return rows.groupby(["region", "layer"], sort=False)["score"].mean().unstack("layer")


def check_ground_truth(table, *, layers, truth):
    """Check demo results against the synthetic world's ground truth.

    Parameters
    ----------
    table : pandas.DataFrame
        The demo's result table.
    layers : sequence of str
        The network's layers, shallow to deep.
    truth : GroundTruth
        Of the synthetic world (``data_adapters.synthetic.GroundTruth``).

    Returns
    -------
    checks : dict of str to dict
        Per check: ``passed`` (bool) and the numbers behind it:

        - ``fmri_<method>``: the best layer (mean over subjects) of every fMRI ROI;
          passes when ROIs driven by the late stage peak in the network's last two
          layers and, for RSA, ROIs driven by the early stage peak in its first half;
          for encoding (whose early-ROI profile is flat over the convolutional layers),
          when the first layer predicts early ROIs better than late ones and the last
          layer late ROIs better than early ones;
        - ``spikes_<method>``: the same for the V1, V4 and IT units;
        - ``eeg_latency``: fusion peak time of each fMRI ROI; passes when the early ROI
          peaks before the late ROI, each within 50 ms of its M/EEG source latency.
    """
    order = list(layers)
    checks = {}
    regions_by_source = {"fmri": truth.fmri_regions, "spikes": truth.spike_regions}
    for source, stages in regions_by_source.items():
        for method, metric in (("encoding", "pearson"), ("rsa", "rho_a")):
            profile = _mean_profile(table, method, metric, source)
            if profile.empty:
                continue
            best = {region: str(profile.loc[region].idxmax()) for region in profile.index}
            position = {region: order.index(layer) for region, layer in best.items()}
            early = [r for r in best if stages.get(r) == "early"]
            late = [r for r in best if stages.get(r) == "late"]
            late_deep = all(position[r] >= len(order) - 2 for r in late)
            if method == "rsa":
                passed = late_deep and all(
                    position[e] <= (len(order) - 1) // 2 and position[e] < position[lt]
                    for e in early
                    for lt in late
                )
            else:
                # Encoding profiles of early ROIs are flat over the convolutional layers
                # (deep feature maps keep local orientation energy), so ask for the double
                # dissociation: the first layer predicts early ROIs better than late ones,
                # the last layer late ROIs better than early ones.
                first, last = order[0], order[-1]
                passed = late_deep and all(
                    profile.loc[e, first] > profile.loc[lt, first]
                    and profile.loc[lt, last] > profile.loc[e, last]
                    for e in early
                    for lt in late
                )
            checks[f"{source}_{method}"] = {"passed": bool(passed), "best_layer": best}
    fusion = table[table["method"] == "fusion"]
    if not fusion.empty:
        curves = fusion.groupby(["region", "time"])["score"].mean().unstack("time")
        peaks = {region: float(curves.loc[region].idxmax()) for region in curves.index}
        latency = {stage: truth.source_latencies[stage] for stage in ("early", "late")}
        region_of = {
            stage: [r for r in peaks if truth.fmri_regions.get(r) == stage] for stage in latency
        }
        passed = all(
            abs(peaks[r] - latency[stage]) <= 0.05 for stage in latency for r in region_of[stage]
        ) and all(peaks[e] < peaks[lt] for e in region_of["early"] for lt in region_of["late"])
        checks["eeg_latency"] = {
            "passed": bool(passed),
            "peak_time": peaks,
            "source_latency": latency,
        }
    return checks


def _check_out(out, overwrite):
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{str(out)!r} already holds results; pass --overwrite (overwrite=True) to replace "
            "them, or choose another --out."
        )


def run_demo(
    out, *, quick=False, seed=0, device="auto", batch_size=None, overwrite=False, progress=True
):
    """Run the synthetic study, write its results, figures and report, check the truth.

    Parameters
    ----------
    out : str or path-like
        Output folder; created if needed.
    quick : bool, default=False
        A smaller world and fewer resamples (well under 2 minutes on 2 CPU cores).
    seed : int, default=0
        Seed of the world and of every resampling.
    device : str or torch.device, default="auto"
        Where the network and the analyses run.
    batch_size : int, optional
        Stimuli per forward pass of the network.
    overwrite : bool, default=False
        Replace results already in ``out``.
    progress : bool, default=True
        Show a progress bar over units.

    Returns
    -------
    result : DemoResult

    Raises
    ------
    FileExistsError
        If ``out`` already holds files and ``overwrite`` is False.
    """
    from data_adapters import synthetic
    from data_adapters.activations import extract
    from neuroalign.experiment import run_experiment
    from neuroalign.models import DEFAULT_LAYERS

    out = Path(out)
    _check_out(out, overwrite)
    run = run_experiment(
        demo_config(quick=quick, seed=seed, device=str(device), batch_size=batch_size),
        out=out,
        overwrite=overwrite,
        adapters={"synthetic": synthetic.load},
        extractor=extract,
        progress=progress,
    )
    truth = synthetic.GroundTruth()
    checks = check_ground_truth(run.result.table, layers=DEFAULT_LAYERS, truth=truth)
    record = {"seed": seed, "quick": quick, "ground_truth": truth.to_dict(), "checks": checks}
    (out / "ground_truth.json").write_text(json.dumps(record, indent=2, default=_json_default))
    files = [Path("results.csv"), Path("run.json"), Path("ground_truth.json")]
    files += [path.relative_to(out) for path in run.figures]
    if run.report is not None:
        files.append(run.report.relative_to(out))
    logger.info("demo finished in %.1f s", run.seconds)
    return DemoResult(
        out=out, files=files, seconds=run.seconds, checks=checks, table=run.result.table
    )


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Cannot encode {type(value).__name__} as JSON.")
