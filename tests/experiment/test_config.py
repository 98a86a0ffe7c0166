"""Bad experiments fail before any computation, with a message that names the problem."""

import pytest

from neuroalign.cli import main
from neuroalign.experiment import load_config, parse_config, run_experiment


def _fails(config, toy_adapter, tmp_path, match):
    with pytest.raises(ValueError, match=match):
        run_experiment(config, out=tmp_path / "out", adapters={"toy": toy_adapter}, progress=False)
    assert toy_adapter.calls == 0  # nothing was loaded, let alone computed
    assert not (tmp_path / "out").exists()


def test_unknown_key_is_named_with_a_suggestion(config, toy_adapter, tmp_path):
    config["analyses"][0]["n_bootstrp"] = 5
    _fails(
        config,
        toy_adapter,
        tmp_path,
        r"analyses\.0\.n_bootstrp: unknown key 'n_bootstrp'.*Did you mean 'n_bootstrap'",
    )


def test_wrong_type_names_key_expected_and_received(config, toy_adapter, tmp_path):
    config["analyses"][0]["cv"] = "five"
    _fails(
        config,
        toy_adapter,
        tmp_path,
        r"analyses\.0\.cv: Input should be a valid integer.*"
        r"got 'five'",
    )


def test_missing_file(config, toy_adapter, tmp_path):
    config["models"]["toy"]["activations"] = str(tmp_path / "nope.zarr")
    _fails(config, toy_adapter, tmp_path, r"models\.toy\.activations: no file at .*nope\.zarr")


def test_unknown_layer(config, toy_adapter, tmp_path):
    config["models"]["toy"]["layers"] = ["erly"]
    _fails(
        config,
        toy_adapter,
        tmp_path,
        r"models\.toy\.layers: unknown layer 'erly'; this model has early, late\. "
        r"Did you mean 'early'",
    )


def test_unknown_adapter_lists_available_ones(config, toy_adapter, tmp_path):
    config["sources"]["fmri"]["adapter"] = "tyo"
    _fails(
        config,
        toy_adapter,
        tmp_path,
        r"sources\.fmri\.adapter: Unknown adapter 'tyo'; available adapters: .*'toy'.*"
        r"Did you mean 'toy'",
    )


def test_unknown_source_model_and_engine_option(config, toy_adapter, tmp_path):
    config["analyses"][0]["sources"] = ["fmir"]
    config["analyses"][0]["models"] = ["tyo"]
    config["analyses"][1]["options"]["rdm_metod"] = "x"
    with pytest.raises(ValueError) as error:
        run_experiment(config, out=tmp_path / "o", adapters={"toy": toy_adapter}, progress=False)
    message = str(error.value)
    assert "analyses.0.sources: unknown source 'fmir'" in message
    assert "analyses.0.models: unknown model 'tyo'" in message
    assert "analyses.1.options: unknown rsa option 'rdm_metod'" in message
    assert toy_adapter.calls == 0


def test_network_without_extractor_is_explained(config, toy_adapter, tmp_path):
    config["models"]["toy"] = {"network": "default", "stimuli": "fmri", "layers": ["conv9"]}
    with pytest.raises(ValueError) as error:
        run_experiment(config, out=tmp_path / "o", adapters={"toy": toy_adapter}, progress=False)
    assert "needs an activation extractor" in str(error.value)
    assert "unknown layer 'conv9'" in str(error.value)


def test_yaml_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="No experiment file"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert main(["run", str(tmp_path / "list.yaml")]) == 1
    assert "expected a mapping of keys" in capsys.readouterr().err


def test_missing_required_keys():
    with pytest.raises(ValueError) as error:
        parse_config({"name": "x"})
    assert "sources: required key is missing" in str(error.value)
    assert "analyses: required key is missing" in str(error.value)
