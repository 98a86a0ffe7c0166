"""Fixtures for the synthesis tests: the fitted synthetic-world encoder and tiny pipelines."""

import types

import pytest
import torch

from data_adapters.synthetic import make_world
from neuroalign.models import default_ddpm, default_model
from neuroalign.synthesis import FeatureExtractor, fit_image_encoder

FEATURE_LAYERS = ("conv2", "conv3", "conv4")


@pytest.fixture(scope="session")
def world():
    """A small synthetic world: 200 stimuli, one subject with 30 voxels per ROI."""
    return make_world(seed=0, n_per_category=40, n_subjects=1, quick=True)


@pytest.fixture(scope="session")
def encoder(world):
    """Ridge encoder fitted on the default network's features of the world's stimuli."""
    extractor = FeatureExtractor(default_model(), FEATURE_LAYERS, image_size=64)
    return fit_image_encoder(extractor, world.stimuli, world.fmri["sub-01"], cv=5)


@pytest.fixture(scope="session")
def subject(world):
    """The simulator behind the recording: the ground truth for evaluation only."""
    return world.subjects["fmri"]["sub-01"]


@pytest.fixture
def ddpm():
    return default_ddpm()


def _tiny_latent_pipeline(seed=0, scheduler=None):
    """VAE + conditional UNet from tiny configs with random weights (16 x 16 images)."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=4,
        layers_per_block=1,
        sample_size=16,
    ).eval()
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=8,
        attention_head_dim=4,
    ).eval()
    scheduler = scheduler or DDIMScheduler(num_train_timesteps=1000)
    return types.SimpleNamespace(vae=vae, unet=unet, scheduler=scheduler)


def _redness(images):
    """A simple differentiable objective: red minus the other channels, per image."""
    return images[:, 0].mean(dim=(1, 2)) - images[:, 1:].mean(dim=(1, 2, 3))


@pytest.fixture
def tiny_latent_pipeline():
    """Builder of tiny latent pipelines: ``tiny_latent_pipeline(seed=0, scheduler=None)``."""
    return _tiny_latent_pipeline


@pytest.fixture
def redness():
    """A simple objective on images in [0, 1]: red minus the other channels, per image."""
    return _redness
