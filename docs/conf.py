"""Sphinx configuration of the neuroalign documentation.

Build with ``make docs`` (or ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
The build is offline: no intersphinx inventories are fetched and the gallery runs on the
built-in synthetic world.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # neuroalign and data_adapters without an install

from neuroalign._version import __version__  # noqa: E402

# -- Project -----------------------------------------------------------------------------------
project = "neuroalign"
author = "neuroalign developers"
copyright = "neuroalign developers"
version = release = __version__

# -- General -----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
default_role = "py:obj"  # `name` in docstrings links to the object when it is documented
language = "en"

# -- autodoc / autosummary ---------------------------------------------------------------------
autosummary_generate = True  # stubs go to docs/generated/ (git-ignored), see api.rst
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc docstrings carry the types

# -- numpydoc ----------------------------------------------------------------------------------
numpydoc_show_class_members = False  # members are listed by the autosummary class template
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- sphinx-gallery ----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",  # every plot_*.py is executed
    "ignore_pattern": r"/_",
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("neuroalign", "data_adapters"),
    "reference_url": {"neuroalign": None},  # local links only: nothing is fetched
    "show_memory": False,
    "plot_gallery": "True",
}
os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"neuroalign {version}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_show_sourcelink = False


# -- Hooks -------------------------------------------------------------------------------------
def _skip_namedtuple_aliases(app, what, name, obj, skip, options):
    """Hide NamedTuple fields whose only doc is the generated "Alias for field number N"."""
    doc = getattr(obj, "__doc__", None) or ""
    if what == "class" and doc.startswith("Alias for field number"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_namedtuple_aliases)
