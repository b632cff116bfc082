"""Dataset-scale work as *chunks*: a job is a list of small chunks (e.g. rows 0-127 of a dataset, or one
(model, seed) evaluation) and a *worker class* that loads what it needs once (the model, the dataset) and turns
one chunk into a dict of numpy arrays with a common leading dimension.

This module holds the executor interface and ``LocalExecutor`` (the chunks in this process, in order), so
every layer can describe its work as chunks; :mod:`xai_core.jobs` adds the Ray executor and picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

Chunk = dict[str, Any]
Arrays = dict[str, np.ndarray]
ProgressCallback = Callable[[float, str], None]


class ChunkWorker(Protocol):
    """Built once per process or actor with keyword arguments; called once per chunk."""

    def __call__(self, chunk: Chunk) -> Arrays: ...


@contextmanager
def torch_threads(threads: int):
    """Run with ``threads`` intra-op threads, restoring the previous count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Executor(ABC):
    """Every worker runs with ``threads_per_worker`` torch threads on every executor: float reductions then happen
    in the same order, so local and Ray outputs are bit-identical."""

    name = ""
    threads_per_worker = 1

    @abstractmethod
    def run(self, worker: type, chunks: Sequence[Chunk], worker_kwargs: dict | None = None,
            on_progress: ProgressCallback | None = None) -> list[Arrays]:
        """``worker(**worker_kwargs)(chunk)`` for every chunk; results in chunk order."""


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, threads_per_worker: int = 1):
        self.threads_per_worker = threads_per_worker

    def run(self, worker, chunks, worker_kwargs=None, on_progress=None):
        results = []
        with torch_threads(self.threads_per_worker):
            instance = worker(**(worker_kwargs or {}))
            for done, chunk in enumerate(chunks, start=1):
                results.append(instance(dict(chunk)))
                if on_progress is not None:
                    on_progress(done / len(chunks), f"chunk {done} of {len(chunks)}")
        return results



def concatenate(results: Sequence[Arrays]) -> Arrays:
    """Chunk results -> one dict of arrays (rows in chunk order)."""
    if not results:
        return {}
    return {name: np.concatenate([result[name] for result in results]) for name in results[0]}


def row_chunks(rows: int, chunk_size: int) -> list[Chunk]:
    """[{"start": 0, "stop": chunk_size}, ...] covering ``rows``."""
    if chunk_size < 1:
        raise ValueError("chunk size must be at least 1")
    return [{"start": start, "stop": min(rows, start + chunk_size)} for start in range(0, rows, chunk_size)]
