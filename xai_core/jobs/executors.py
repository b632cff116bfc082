"""Executors for dataset-scale work (the chunk interface and ``LocalExecutor`` are in :mod:`xai_core.data.chunks`).

``LocalExecutor`` runs the chunks in this process, in order. ``RayExecutor`` runs them on a Ray cluster
with Ray Data ``map_batches`` (one chunk per batch, so a chunk is computed exactly as locally, and the
outputs are identical) on a pool of model-holding actors with fractional CPUs, so the stage that feeds
them never starves. ``executor_for`` picks Ray when an address is given or ``RAY_ADDRESS`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..data.chunks import Arrays, Executor, LocalExecutor

RAY_ADDRESS_VARIABLE = "RAY_ADDRESS"
LOCAL_RAY = "local"  # --ray-address local: start a Ray instance on this machine
CHUNK_COLUMN = "_chunk"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def _python_value(value):
    return value.item() if isinstance(value, np.generic) else value


class _RayChunkAdapter:
    """The callable class Ray Data instantiates on each actor: unpacks the one-row batch into a chunk, runs the
    worker and tags its output rows with the chunk number."""

    def __init__(self, worker: type, worker_kwargs: dict, threads: int):
        torch.set_num_threads(threads)
        self.worker = worker(**worker_kwargs)

    def __call__(self, batch: dict[str, np.ndarray]) -> Arrays:
        row = {name: _python_value(values[0]) for name, values in batch.items()}
        number = row.pop(CHUNK_COLUMN)
        output = self.worker(row)
        rows = len(next(iter(output.values())))
        return {CHUNK_COLUMN: np.full(rows, number, dtype=np.int64), **output}


class RayExecutor(Executor):
    """Ray Data on the cluster at ``address`` ("local" or None starts one here; "auto" joins a running one)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 2, cpus_per_worker: float = 0.75, threads_per_worker: int = 1):
        if workers < 1 or cpus_per_worker <= 0:
            raise ValueError("the Ray executor needs at least one worker and a positive CPU share per worker")
        self.address, self.workers, self.cpus_per_worker = address, workers, cpus_per_worker
        self.threads_per_worker = threads_per_worker

    def _connect(self):
        try:
            import ray
        except ImportError as error:
            raise RuntimeError("the Ray executor needs Ray: pip install -r requirements-scale.txt") from error
        if not ray.is_initialized():
            address = None if self.address in (None, "", LOCAL_RAY) else self.address
            # workers import xai_core from this checkout (on a cluster: the same path on every node, or an install)
            search_path = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), os.environ.get("PYTHONPATH")]))
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                runtime_env={"env_vars": {"PYTHONPATH": search_path}},
            )
        return ray

    def run(self, worker, chunks, worker_kwargs=None, on_progress=None):
        ray = self._connect()
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        dataset = ray.data.from_items(
            [{**chunk, CHUNK_COLUMN: number} for number, chunk in enumerate(chunks)], override_num_blocks=max(1, len(chunks))
        )
        mapped = dataset.map_batches(
            _RayChunkAdapter,
            batch_size=1,
            batch_format="numpy",
            concurrency=self.workers,
            num_cpus=self.cpus_per_worker,
            fn_constructor_kwargs={"worker": worker, "worker_kwargs": worker_kwargs or {}, "threads": self.threads_per_worker},
        )
        parts: dict[int, list[Arrays]] = {}
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            numbers = batch.pop(CHUNK_COLUMN)
            for number in np.unique(numbers):
                rows = numbers == number
                parts.setdefault(int(number), []).append({name: values[rows] for name, values in batch.items()})
            if on_progress is not None:
                on_progress(len(parts) / len(chunks), f"{len(parts)} of {len(chunks)} chunks")
        missing = sorted(set(range(len(chunks))) - set(parts))
        if missing:
            raise RuntimeError(f"the Ray job returned no output for chunk(s) {missing}")
        return [{name: np.concatenate([p[name] for p in parts[number]]) for name in parts[number][0]} for number in range(len(chunks))]


def executor_for(ray_address: str | None = None, workers: int = 2, cpus_per_worker: float = 0.75, threads_per_worker: int = 1) -> Executor:
    """Ray when ``ray_address`` is given or $RAY_ADDRESS is set, else the local executor."""
    address = ray_address or os.environ.get(RAY_ADDRESS_VARIABLE)
    if address:
        return RayExecutor(address, workers, cpus_per_worker, threads_per_worker)
    return LocalExecutor(threads_per_worker)
