import numpy as np
import pytest
import xarray as xr

from neuroalign.plotting import plot_topomap

mne = pytest.importorskip("mne")


@pytest.fixture
def channels(rng):
    angle = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    radius = np.tile([0.5, 0.95], 8)
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    return xr.DataArray(
        rng.normal(size=(16, 3)),
        dims=("neuroid", "time"),
        coords={
            "neuroid": [f"E{i}" for i in range(16)],
            "x": ("neuroid", x),
            "y": ("neuroid", y),
            "time": [0.1, 0.2, 0.3],
        },
    )


def test_panels_match_mne_on_the_same_input(channels, layout_checker):
    import matplotlib.pyplot as plt

    figure = plot_topomap(channels, times=[0.1, 0.3], label="amplitude (µV)")
    *panels, colorbar = figure.axes
    assert [ax.get_title() for ax in panels] == ["0.100 s", "0.300 s"]
    assert colorbar.get_ylabel() == "amplitude (µV)"
    positions = np.c_[channels.x, channels.y]
    limit = float(np.abs(channels.sel(time=[0.1, 0.3])).max())
    _, reference_ax = plt.subplots()
    reference, _ = mne.viz.plot_topomap(
        channels.sel(time=0.3).values,
        positions,
        axes=reference_ax,
        show=False,
        cmap="RdBu_r",
        vlim=(-limit, limit),
        sphere=0.95,
        contours=4,
    )
    np.testing.assert_allclose(panels[1].images[0].get_array(), reference.get_array())
    assert panels[1].images[0].get_clim() == pytest.approx((-limit, limit))
    layout_checker(figure)


def test_topomap_errors(channels):
    with pytest.raises(ValueError, match="pass times="):
        plot_topomap(channels)
    with pytest.raises(ValueError, match=r"lacks the channel coordinate\(s\) \['x', 'y'\]"):
        plot_topomap(channels.isel(time=0).drop_vars(["x", "y"]))
    with pytest.raises(TypeError, match="'neuroid'"):
        plot_topomap(np.zeros(16))
