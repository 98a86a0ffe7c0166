"""Runs: results folder, resume without recomputation, Dask equals local, the CLI."""

import json

import pandas as pd
import pytest
import yaml

from neuroalign import compare
from neuroalign.cli import main
from neuroalign.data import load
from neuroalign.experiment import run_experiment


def _run(config, out, adapter, **kwargs):
    return run_experiment(config, out=out, adapters={"toy": adapter}, progress=False, **kwargs)


def test_run_writes_the_results_folder(tmp_path, config, toy_adapter, activations_file):
    run = _run(config, tmp_path / "out", toy_adapter)
    out = tmp_path / "out"
    assert len(run.executed) == 7 and run.skipped == ()
    assert {p.name for p in out.iterdir()} >= {"results.csv", "run.json", "units", "maps.nc"}
    assert len(list((out / "units").glob("*.csv"))) == 7
    table = run.result.table
    assert table.groupby(["method", "source"]).size().to_dict() == {
        ("encoding", "fmri"): 2 * 2 * 2,  # layers x regions x metrics
        ("rsa", "eeg"): 2 * 5,  # layers x time points
        ("rsa", "fmri"): 2 * 2,
        ("decoding", "eeg"): 5,  # time points
    }
    # The runner's rows are compare()'s rows on the same data and options.
    fmri = toy_adapter.data["fmri"]
    direct = compare(
        load(activations_file), fmri, methods="encoding", cv=3, n_bootstrap=10, seed=1, device="cpu"
    ).table
    ours = table[table.method == "encoding"].drop(columns="source").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, direct.assign(model="toy"), check_exact=True)
    record = json.loads((out / "run.json").read_text())
    assert record["name"] == "toy" and record["seeds"] == {"seed": 1}
    assert set(record["executed"]) == set(record["units"]) and record["versions"]["neuroalign"]
    assert len(record["input_hashes"]) == 2 + 2  # two layers, two recordings


def test_interrupted_run_resumes_without_recomputing(tmp_path, config, toy_adapter):
    reference = _run(config, tmp_path / "ref", toy_adapter)

    def interrupt_after_two(unit, done=[]):  # noqa: B006 -- counts calls within this test
        done.append(unit.id)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(config, tmp_path / "out", toy_adapter, on_unit_done=interrupt_after_two)
    finished = sorted(p.stem for p in (tmp_path / "out" / "units").glob("*.csv"))
    assert len(finished) == 2
    with pytest.raises(FileExistsError, match="--resume"):
        _run(config, tmp_path / "out", toy_adapter)
    resumed = _run(config, tmp_path / "out", toy_adapter, resume=True)
    assert sorted(resumed.skipped) == finished
    assert len(resumed.executed) == 5 and not set(resumed.executed) & set(finished)
    pd.testing.assert_frame_equal(resumed.result.table, reference.result.table, check_exact=True)
    assert resumed.result.maps.keys() == reference.result.maps.keys()
    assert all(resumed.result.maps[k].identical(m) for k, m in reference.result.maps.items())
    again = _run(config, tmp_path / "out", toy_adapter, resume=True)
    assert again.executed == () and len(again.skipped) == 7


def test_changed_options_are_not_taken_from_an_earlier_run(tmp_path, config, toy_adapter):
    first = _run(config, tmp_path / "out", toy_adapter)
    config["analyses"][0]["cv"] = 4
    second = _run(config, tmp_path / "out", toy_adapter, resume=True)
    assert len(second.executed) == 2  # the two encoding units; RSA units are reused
    assert set(second.skipped) <= set(first.executed)


def test_dask_local_cluster_gives_the_same_table(tmp_path, config, toy_adapter):
    distributed = pytest.importorskip("distributed")
    local = _run(config, tmp_path / "local", toy_adapter).result.table
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = _run(config, tmp_path / "dask", toy_adapter, executor="dask", client=client)
    assert len(on_dask.executed) == 7
    pd.testing.assert_frame_equal(on_dask.result.table, local, check_exact=True)


def test_cli_runs_a_yaml_file_with_paths_relative_to_it(tmp_path, config, toy_adapter, capsys):
    from neuroalign.data import save

    folder = tmp_path / "study"
    for name in ("fmri", "eeg"):
        save(toy_adapter.data[name], folder / "data" / f"{name}.nc")
        config["sources"][name] = {"path": f"data/{name}.nc"}
    config["analyses"] = config["analyses"][1:]
    (folder / "study.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "results"
    assert main(["run", str(folder / "study.yaml"), "--out", str(out), "--no-progress"]) == 0
    assert "5 units computed, 0 reused" in capsys.readouterr().out
    assert main(["run", str(folder / "study.yaml"), "--out", str(out), "--no-progress"]) == 1
    assert "--resume" in capsys.readouterr().err
    assert (
        main(["run", str(folder / "study.yaml"), "--out", str(out), "--resume", "--no-progress"])
        == 0
    )
    assert "0 units computed, 5 reused" in capsys.readouterr().out


def test_cli_address_needs_dask(tmp_path, capsys):
    assert main(["run", "x.yaml", "--address", "tcp://127.0.0.1:1"]) == 1
    assert "needs --executor dask" in capsys.readouterr().err
