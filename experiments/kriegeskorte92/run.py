"""RSA on the Kriegeskorte et al. (2008) 92-image data: candidate models and the default
network's layers against human IT (4 subjects) and monkey IT.

    python experiments/kriegeskorte92/run.py --data /path/to/data --out results/kriegeskorte92

``--data`` (or the environment variable ``NEUROALIGN_DATA``) is the folder that holds
``kriegeskorte2008_92images/`` (or that folder itself). The analysis follows Nili et
al. (2014): each subject's two sessions are averaged, every candidate RDM is compared
with the four subject RDMs by Spearman correlation, with the noise ceiling,
stimulus-bootstrap CIs and Holm-corrected pairwise tests
(:func:`neuroalign.rsa.evaluate`). The default network (trained on the synthetic
world, never on photographs) sees the 92 images resized to 64 x 64; its layer RDMs
(1 - Pearson r) join the candidates. Writes ``results.csv``, ``pairwise.csv``,
figures and ``report.html``.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

DATASET = "kriegeskorte2008_92images"
ARCHIVE = "92images_converted.npz"
SOURCE = (
    "The data are public: the RDMs and images of Kriegeskorte et al. (2008, Neuron 60:1126) "
    "ship with the RSA toolbox demos, GitHub rsagroup/rsatoolbox, folder demos/92imageData "
    "(also rsagroup/rsatoolbox_matlab, Demos/92imageData). Convert them to "
    f"{ARCHIVE} as described in the dataset's README, or point --data at a folder that "
    f"holds {DATASET}/{ARCHIVE}."
)
# Candidate RDMs of the toolbox demo (Nili et al. 2014): name -> key in the archive.
CANDIDATES = {
    "animacy": "model_animacy",
    "face_animate_inanimate": "model_faceAnimateInaniClusters",
    "face_body_natural_artificial": "model_FaceBodyManmadeNatobj",
    "similarity_judgements": None,  # mean of the 16 behavioural RDMs
    "early_visual": "model_EVA",
    "monkey_it": "model_monkeyIT",
    "hmax": "model_HMAX",
    "v1": "model_V1",
    "radon": "model_RADON",
    "silhouette": "model_Silhouette",
}
NETWORK = "default_convnet"


def find_archive(data):
    """The archive under ``data`` (or ``$NEUROALIGN_DATA``).

    Parameters
    ----------
    data : str or path-like or None

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError
        Naming where the public data come from.
    """
    root = data if data is not None else os.environ.get("NEUROALIGN_DATA")
    if root is None:
        raise FileNotFoundError(
            f"No data folder given: pass --data DIR or set NEUROALIGN_DATA. {SOURCE}"
        )
    for candidate in (Path(root) / DATASET / ARCHIVE, Path(root) / ARCHIVE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{ARCHIVE} not found under {str(root)!r}. {SOURCE}")


def _category_labels(archive):
    animate = archive["is_animal"].astype(bool) | archive["is_human"].astype(bool)
    natural = np.where(archive["is_natural"].astype(bool), "natural", "artificial")
    labels = np.where(animate, "body", natural)
    labels = np.where(archive["is_face"].astype(bool), "face", labels)
    return [str(label) for label in labels]


def network_rdms(images, stimuli, *, device="cpu"):
    """RDMs (1 - Pearson r) of the default network's layers for the 92 images.

    Parameters
    ----------
    images : uint8 array of shape (92, height, width, 3)
    stimuli : list of str
    device : str, default="cpu"

    Returns
    -------
    rdms : xarray.DataArray
        Labelled RDMs, one source per layer.
    """
    import torch

    from data_adapters.activations import extract
    from neuroalign.models import DEFAULT_LAYERS, default_model
    from neuroalign.rsa import compute_rdms

    pixels = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0
    resized = torch.nn.functional.interpolate(
        pixels, size=(64, 64), mode="bilinear", antialias=True, align_corners=False
    )
    layers = extract(
        default_model(device=device),
        resized.numpy(),
        list(DEFAULT_LAYERS),
        stimulus_ids=stimuli,
        device=device,
        model_name=NETWORK,
        progress=False,
    )
    return compute_rdms(layers, method="correlation", device=device)


def _rows(result, target, n_subjects):
    table = result.to_frame()
    is_layer = table["model"].str.startswith(f"{NETWORK}:")
    return table.assign(
        layer=np.where(is_layer, table["model"].str.split(":").str[1], ""),
        model=np.where(is_layer, NETWORK, table["model"]),
        subject=target,
        region="IT",
        method="rsa",
        metric=result.method,
        ceiling=table["ceiling_low"],
        n_subjects=n_subjects,
    )


def run(data, out, *, n_bootstrap=1000, seed=0, device="cpu", figures=True):
    """Run the analysis and write results, figures and the report.

    Parameters
    ----------
    data : str or path-like or None
        Data folder (default ``$NEUROALIGN_DATA``).
    out : str or path-like
    n_bootstrap : int, default=1000
    seed : int, default=0
    device : str, default="cpu"
    figures : bool, default=True

    Returns
    -------
    results : dict of str to EvaluationResult
        ``"hIT"`` (4 subjects, with noise ceiling) and ``"mIT"``.
    """
    path = find_archive(data)
    import pandas as pd

    from neuroalign.rsa import as_rdms, evaluate

    with np.load(path, allow_pickle=False) as stored:
        archive = {key: stored[key] for key in stored.files}
    stimuli = [f"img{i:02d}" for i in range(archive["images"].shape[0])]
    candidates = as_rdms(
        np.stack(
            [
                archive["behav_simjudge_rdms"].mean(0)
                if key is None
                else archive[key].astype(float)
                for key in CANDIDATES.values()
            ]
        ),
        stimuli=stimuli,
        sources=list(CANDIDATES),
    )
    layers = network_rdms(archive["images"], stimuli, device=device)
    layers = layers.assign_coords(source=[f"{NETWORK}:{s}" for s in layers.source.values])
    models = as_rdms(
        np.concatenate([candidates.values, layers.values]),
        stimuli=stimuli,
        sources=[*candidates.source.values.tolist(), *layers.source.values.tolist()],
    )
    human = as_rdms(
        archive["hIT_session_rdms"].mean(1),
        stimuli=stimuli,
        sources=[str(s) for s in archive["hIT_subjects"]],
    )
    monkey_sources = [s for s in models.source.values if s != "monkey_it"]
    monkey_it = as_rdms(
        archive["model_monkeyIT"][None].astype(float), stimuli=stimuli, sources=["monkey_it"]
    )
    options = {
        "method": "spearman",
        "bootstrap": "pattern",
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "device": device,
    }
    results = {
        "hIT": evaluate(models, human, **options),
        "mIT": evaluate(models.sel(source=monkey_sources), monkey_it, **options),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.concat(
        [_rows(results["hIT"], "hIT", len(human.source)), _rows(results["mIT"], "mIT", 1)],
        ignore_index=True,
    )
    table.to_csv(out / "results.csv", index=False)
    pairwise = results["hIT"].pairwise_frame()
    pairwise.to_csv(out / "pairwise.csv", index=False)
    record = {
        "name": "Kriegeskorte 2008: models vs human and monkey IT",
        "seed": seed,
        "n_bootstrap": n_bootstrap,
        "data": str(path),
    }
    (out / "run.json").write_text(json.dumps(record, indent=2))
    if figures:
        _figures(results, table, human, _category_labels(archive), out)
        from neuroalign.report import build_report

        build_report(out, title=record["name"])
    return results


def _figures(results, table, human, labels, out):
    from neuroalign.plotting import (
        plot_layer_profile,
        plot_mds,
        plot_model_comparison,
        plot_rdm,
        save_figure,
    )

    mean = human.mean("source").expand_dims(source=["hIT mean"])
    human_it = results["hIT"]
    best = human_it.models[int(np.argmax(human_it.scores))]
    save_figure(
        plot_model_comparison(human_it, brackets="best"),
        out,
        "models_vs_human_it",
        title="Candidate models and network layers vs human IT",
        caption="Spearman correlation with the 4 subjects' RDMs (mean); bars: 95% "
        "stimulus-bootstrap CI; grey band: noise ceiling; brackets: Holm-corrected tests of "
        f"{best} against each other model (all pairs in pairwise.csv).",
        close=True,
    )
    layer_rows = table[table["model"] == NETWORK].assign(region=table["subject"])
    save_figure(
        plot_layer_profile(layer_rows, method="rsa", metric="spearman", model=NETWORK),
        out,
        "network_layers_vs_it",
        title="Default network layers vs IT",
        caption="Spearman correlation of each layer's RDM with human IT (mean of 4 "
        "subjects) and monkey IT; dashed: lower noise ceiling (human).",
        close=True,
    )
    save_figure(
        plot_rdm(mean, labels=labels),
        out,
        "human_it_rdm",
        title="Human IT RDM (mean of 4 subjects)",
        caption="1 - Pearson r between voxel patterns, 92 images.",
        close=True,
    )
    save_figure(
        plot_mds(mean, labels=labels),
        out,
        "human_it_mds",
        title="Human IT: MDS of the 92 images",
        caption="Metric MDS of the mean human-IT RDM, coloured by category.",
        close=True,
    )


def main(argv=None):
    """Command line of this experiment.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    status : int
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=None,
        help="folder holding kriegeskorte2008_92images (default: $NEUROALIGN_DATA)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/kriegeskorte92"))
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        results = run(
            args.data, args.out, n_bootstrap=args.n_bootstrap, seed=args.seed, device=args.device
        )
    except FileNotFoundError as err:
        print(f"kriegeskorte92: {err}", file=sys.stderr)
        return 1
    human = results["hIT"]
    print(
        f"Results in {args.out}. Human IT noise ceiling: "
        f"[{human.noise_ceiling[0]:.3f}, {human.noise_ceiling[1]:.3f}]"
    )
    for name, score in sorted(zip(human.models, human.scores), key=lambda x: -x[1]):
        print(f"  {name:32s} {score:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
