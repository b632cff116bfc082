"""Shared fixtures: seeded generators and small image files made on the fly."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass

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


@dataclass
class CliResult:
    """What a run of the command line left: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch):
    """``cli(*args, env={...})`` runs ``python -m xai_core *args`` through ``xai_core.cli.main`` in this process,
    with ``env`` set for the call, and returns a :class:`CliResult`. A real subprocess costs seconds of imports per
    call; ``tests/test_cli.py::test_help_lists_every_command`` keeps one to cover the module entry point."""
    from xai_core.cli import main

    previous_threads = torch.get_num_threads()

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    code = main(list(args))
                except SystemExit as exit_info:  # as the interpreter does: a message goes to stderr with status 1
                    code = exit_info.code if isinstance(exit_info.code, int) or exit_info.code is None else 1
                    if not isinstance(exit_info.code, int) and exit_info.code is not None:
                        print(exit_info.code, file=sys.stderr)
        code = 0 if code is None else code
        return CliResult(code, stdout.getvalue(), stderr.getvalue())

    yield run
    torch.set_num_threads(previous_threads)
