"""SFT-GAN tests run tiny networks, with one intra-op thread (see ``one_torch_thread``)."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield
