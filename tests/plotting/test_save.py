import json

import matplotlib.image
import matplotlib.pyplot as plt
import pytest

from neuroalign.plotting import FIGURE_DPI, save_figure


def test_writes_png_and_sidecar(tmp_path):
    figure, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    path = save_figure(figure, tmp_path, "profile_fmri", title="Profile", caption="A caption")
    assert path == tmp_path / "figures" / "profile_fmri.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert abs(width - 4 * FIGURE_DPI) < 0.1 * 4 * FIGURE_DPI  # tight bbox trims a little
    sidecar = json.loads((tmp_path / "figures" / "profile_fmri.json").read_text())
    assert sidecar == {"title": "Profile", "caption": "A caption"}
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "profile_fmri.json",
        "profile_fmri.png",
    ]  # no temporary file left behind
    assert plt.fignum_exists(figure.number)
    save_figure(figure, tmp_path, "profile_fmri", close=True)  # overwrite, then close
    assert not plt.fignum_exists(figure.number)
    assert json.loads((tmp_path / "figures" / "profile_fmri.json").read_text())["title"] is None


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "has space"])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="'name' must be a file stem"):
        save_figure(plt.figure(), tmp_path, name)
