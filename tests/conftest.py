"""Shared fixtures: seeded generators and small image files made on the fly."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a test module of tiny networks: on a busy machine several OpenMP threads
    competing for the cores make each tiny op wait on the others."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def digit_png() -> bytes:
    """A 28x28 white '1'-like stroke on black, as PNG bytes."""
    array = np.zeros((28, 28), dtype=np.uint8)
    array[4:24, 13:16] = 255
    return png_bytes(array)


def train_tiny_gan(directory, gan_id: str = "", conditional: bool = True) -> dict:
    """A one-epoch MNIST DCGAN (latent 8, width 8, about 3 s) saved into ``directory``; returns its manifest entry."""
    from xai_core.generative.training import GANConfig, train_gan

    config = GANConfig("mnist", conditional=conditional, epochs=1, width=8, latent_dim=8, batch_size=256, gan_id=gan_id)
    return train_gan(config, out_dir=directory, run_dir=directory / "run", progress=False, score=False)
