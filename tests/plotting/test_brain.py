import numpy as np
import pytest
import xarray as xr

from neuroalign.plotting import plot_best_layer_map, plot_brain_map, plot_surface_map
from neuroalign.plotting._brain import _to_image, best_layer_codes

pytest.importorskip("nilearn")

LAYERS = ["conv1", "conv2", "conv3", "fc"]


@pytest.fixture
def voxels(rng):
    xyz = np.array([(x, y, z) for x in range(4) for y in range(8) for z in range(3)])
    xyz = xyz[rng.permutation(len(xyz))[:80]]
    return xr.DataArray(
        rng.normal(size=len(xyz)),
        dims="neuroid",
        coords={c: ("neuroid", xyz[:, i]) for i, c in enumerate("xyz")},
    )


def test_values_land_in_their_voxels(voxels):
    image = _to_image(voxels, None, "values")
    data = image.get_fdata()
    np.testing.assert_allclose(
        data[voxels.x.values, voxels.y.values, voxels.z.values], voxels.values, rtol=1e-6
    )
    assert np.count_nonzero(data) == voxels.size
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    millimetres = voxels.assign_coords(x=voxels.x * 2.0 + 0.1, y=voxels.y * 2.0, z=voxels.z * 2.0)
    np.testing.assert_array_equal(_to_image(millimetres, affine, "values").get_fdata(), data)


def test_brain_map_has_a_labelled_colorbar(voxels, layout_checker):
    figure = plot_brain_map(voxels, label="Pearson r", title="conv4")
    assert figure.axes[-1].get_ylabel() == "Pearson r"
    layout_checker(figure)


def test_best_layer_codes_and_map(voxels, rng, layout_checker):
    scores = np.array([[0.1, 0.5, np.nan, 0.2], [0.3, 0.4, np.nan, 0.1], [0.2, 0.6, np.nan, 0.0]])
    np.testing.assert_array_equal(best_layer_codes(scores), [2, 3, 0, 1])
    np.testing.assert_array_equal(best_layer_codes(scores, min_score=0.25), [2, 3, 0, 0])
    per_layer = xr.concat(
        [voxels.copy(data=rng.normal(size=voxels.size)) for _ in LAYERS], dim="layer"
    ).assign_coords(layer=LAYERS)
    figure = plot_best_layer_map(per_layer, title="best layer")
    colorbar = figure.axes[-1]
    assert [t.get_text() for t in colorbar.get_yticklabels()] == LAYERS
    assert colorbar.get_ylabel() == "best layer"
    layout_checker(figure)
    as_dict = {layer: per_layer.sel(layer=layer) for layer in LAYERS}
    assert plot_best_layer_map(as_dict).axes[-1].get_ylabel() == "best layer"


def test_surface_map_on_the_shipped_mesh(rng, layout_checker):
    vertices = rng.choice(10242, 300, replace=False)
    values = xr.DataArray(
        rng.normal(size=600),
        dims="neuroid",
        coords={
            "hemisphere": ("neuroid", ["lh"] * 300 + ["right"] * 300),
            "vertex": ("neuroid", np.r_[vertices, vertices]),
        },
    )
    figure = plot_surface_map(values, label="Pearson r", title="encoding")
    assert figure.axes[-1].get_ylabel() == "Pearson r"
    assert [ax.get_title() for ax in figure.axes[:2]] == [
        "left hemisphere (lateral)",
        "right hemisphere (lateral)",
    ]
    layout_checker(figure)


def test_brain_map_errors(voxels):
    with pytest.raises(ValueError, match="would have to be downloaded"):
        plot_surface_map(np.zeros(10242), mesh="fsaverage", hemi="left")
    with pytest.raises(ValueError, match=r"one value per vertex of the left hemisphere \(10242\)"):
        plot_surface_map(np.zeros(5), hemi="left")
    with pytest.raises(ValueError, match=r"lacks the voxel coordinate\(s\) \['z'\]"):
        plot_brain_map(voxels.drop_vars("z"))
    with pytest.raises(ValueError, match="pass the image's affine="):
        plot_brain_map(voxels.assign_coords(x=voxels.x + 0.5))
    with pytest.raises(ValueError, match="one value per neuroid"):
        plot_brain_map(xr.concat([voxels, voxels], "layer"))


def test_nifti_image_on_the_mni_template(rng):
    import nibabel

    affine = np.array([[4.0, 0, 0, -40], [0, 4, 0, -60], [0, 0, 4, -20], [0, 0, 0, 1]])
    volume = np.zeros((20, 20, 15), np.float32)
    volume[8:12, 5:9, 6:9] = rng.uniform(0.2, 0.8, (4, 4, 3))
    figure = plot_brain_map(nibabel.Nifti1Image(volume, affine), bg_img="MNI152", label="R²")
    assert figure.axes[-1].get_ylabel() == "R²"
    # the cut goes through the peak voxel, in millimetres
    peak = np.unravel_index(volume.argmax(), volume.shape)
    expected = (affine @ np.r_[peak, 1.0])[:3]
    titles = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert f"x={expected[0]:.0f}" in titles and f"z={expected[2]:.0f}" in titles
