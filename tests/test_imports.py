"""Import-time budget: the CLI's help never imports torch; the package loads no optional stack."""

import subprocess
import sys

HEAVY_OPTIONAL = ("diffusers", "mne", "nilearn", "dask", "pynwb", "nibabel", "transformers")


def _modules_after(code):
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_cli_help_imports_no_torch():
    loaded = _modules_after(
        "from neuroalign.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "neuroalign.cli" in loaded
    assert not {"torch", "xarray", "sklearn", "pandas"} & loaded


def test_import_neuroalign_loads_no_optional_stack():
    loaded = _modules_after("import neuroalign\nimport neuroalign.data\nimport neuroalign._backend")
    assert "neuroalign.data" in loaded
    assert not set(HEAVY_OPTIONAL) & loaded


def test_import_neuroalign_alone_is_light():
    loaded = _modules_after("import neuroalign")
    assert not {"torch", "xarray"} & loaded
