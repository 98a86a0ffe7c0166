"""Figures written into a results folder: PNG at a fixed resolution plus a JSON sidecar."""

import json
import os
import re
import tempfile
from pathlib import Path

__all__ = ["FIGURE_DPI", "save_figure", "write_atomically"]

FIGURE_DPI = 150
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _default_mode():
    """Permissions of a new file under the current umask (mkstemp would give 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path, write):
    """Call ``write(file)`` on a temporary binary file next to ``path``, then rename it.

    Readers never see a half-written file; an interrupted write leaves ``path`` as it was.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, _default_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_figure(figure, results_dir, name, *, title=None, caption=None, close=False):
    """Write ``RESULTS_DIR/figures/NAME.png`` and its sidecar ``NAME.json``, atomically.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    results_dir : str or path-like
        The results folder; ``figures/`` is created inside it.
    name : str
        File stem: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or
        digit (e.g. ``"layer_profile_fmri"``).
    title, caption : str, optional
        Shown above and below the figure in the HTML report (``neuroalign report``).
    close : bool, default=False
        Close the figure afterwards (frees its memory when saving many figures).

    Returns
    -------
    path : pathlib.Path
        The PNG (rendered at :data:`FIGURE_DPI` dots per inch).

    See Also
    --------
    neuroalign.report.build_report

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> folder = tempfile.mkdtemp()
    >>> save_figure(plt.figure(), folder, "empty", title="Nothing", close=True).name
    'empty.png'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"'name' must be a file stem of letters, digits, '.', '_' and '-' (starting with "
            f"a letter or digit); got {name!r}. Use e.g. 'layer_profile_fmri'."
        )
    if not hasattr(figure, "savefig"):
        raise TypeError(f"'figure' must be a matplotlib Figure; got {type(figure).__name__}.")
    folder = Path(results_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    sidecar = {"title": title, "caption": caption}
    write_atomically(
        png, lambda file: figure.savefig(file, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    )
    text = json.dumps(sidecar, indent=2, ensure_ascii=False).encode()
    write_atomically(folder / f"{name}.json", lambda file: file.write(text))
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return png
