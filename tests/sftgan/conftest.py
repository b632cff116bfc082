"""SFT-GAN tests run tiny networks: one intra-op thread keeps them fast even on a busy machine
(with several OpenMP threads competing for busy cores, each tiny op waits on the others)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
