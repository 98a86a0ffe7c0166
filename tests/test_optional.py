import pytest

from neuroalign._optional import import_optional
from neuroalign.exceptions import MissingDependencyError


def test_import_optional_returns_module():
    assert import_optional("json", extra="core", feature="Reading JSON").dumps([]) == "[]"


def test_missing_optional_dependency_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'neuroalign\[eeg\]'") as info:
        import_optional("not_a_real_package_xyz", extra="eeg", feature="Reading EDF files")
    assert isinstance(info.value, ImportError)
    assert "Reading EDF files needs" in str(info.value)
