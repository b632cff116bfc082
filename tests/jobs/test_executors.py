"""Dataset-scale jobs: the local executor, and a local Ray cluster started by the test giving identical outputs for
explaining a dataset, building SFT-GAN training shards and evaluating."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from xai_core.data.chunks import LocalExecutor, concatenate, row_chunks, torch_threads
from xai_core.jobs.executors import REPOSITORY_ROOT, RayExecutor, executor_for
from xai_core.jobs.tasks import evaluate, explain_dataset
from xai_core.metrics.suite import EvaluationSettings
from xai_core.sftgan.data import Pair, build_pair_shard

RAY_TIME_LIMIT_SECONDS = 600  # the whole Ray module; a hang fails instead of blocking CI


class Doubler:
    """A toy worker: counts its constructions, doubles rows start..stop."""

    built = 0

    def __init__(self, offset: int = 0):
        type(self).built += 1
        self.offset = offset

    def __call__(self, chunk):
        values = np.arange(chunk["start"], chunk["stop"]) + self.offset
        return {"value": values * 2, "threads": np.full(len(values), torch.get_num_threads())}


def test_row_chunks_cover_every_row_once():
    assert row_chunks(5, 2) == [{"start": 0, "stop": 2}, {"start": 2, "stop": 4}, {"start": 4, "stop": 5}]
    assert row_chunks(0, 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        row_chunks(5, 0)


def test_local_executor_builds_one_worker_and_keeps_chunk_order():
    Doubler.built = 0
    previous = torch.get_num_threads()
    progress = []
    results = LocalExecutor(threads_per_worker=1).run(
        Doubler, row_chunks(7, 3), {"offset": 10}, lambda done, message: progress.append(done)
    )
    assert Doubler.built == 1 and progress == [1 / 3, 2 / 3, 1.0]
    assert concatenate(results)["value"].tolist() == [2 * (10 + i) for i in range(7)]
    assert set(concatenate(results)["threads"].tolist()) == {1} and torch.get_num_threads() == previous


def test_torch_threads_are_restored_after_an_error():
    previous = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == previous


def test_ray_is_chosen_by_address_or_environment(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(executor_for(None), LocalExecutor)
    chosen = executor_for("ray://head:10001", workers=3, cpus_per_worker=0.5)
    assert isinstance(chosen, RayExecutor) and (chosen.address, chosen.workers, chosen.cpus_per_worker) == ("ray://head:10001", 3, 0.5)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert isinstance(executor_for(None), RayExecutor) and executor_for(None).address == "auto"
    with pytest.raises(ValueError, match="at least one worker"):
        RayExecutor("local", workers=0)


@contextmanager
def time_limit(seconds: int):
    def expire(_signum, _frame):
        raise TimeoutError(f"the Ray test ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray", reason="Ray is the optional scale extra (requirements-scale.txt; make test installs it)")
    with time_limit(RAY_TIME_LIMIT_SECONDS):
        # the actors import xai_core from this checkout and this module (for the toy worker) by its file name
        search_path = os.pathsep.join([str(REPOSITORY_ROOT), str(Path(__file__).parent)])
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            object_store_memory=200 * 1024**2,
            runtime_env={"env_vars": {"PYTHONPATH": search_path}},
        )
        try:
            yield RayExecutor(workers=2, cpus_per_worker=0.75)
        finally:
            ray.shutdown()


def test_ray_runs_chunks_in_order_on_several_actors(ray_executor):
    results = ray_executor.run(Doubler, row_chunks(10, 3), {"offset": 1})
    assert [r["value"].tolist() for r in results] == [[2, 4, 6], [8, 10, 12], [14, 16, 18], [20]]
    assert set(concatenate(results)["threads"].tolist()) == {1}


def test_explaining_a_dataset_on_ray_equals_local(ray_executor):
    settings = {"model_id": "vgg-mnist", "dataset": "mnist", "methods": ["grad_cam", "smoothgrad"], "n": 48, "seed": 3, "chunk_size": 16}
    local = explain_dataset(executor=LocalExecutor(), **settings)
    on_ray = explain_dataset(executor=ray_executor, **settings)
    assert local.keys() == on_ray.keys() == {"index", "label", "prediction", "confidence", "map_grad_cam", "map_smoothgrad"}
    assert local["index"].tolist() == list(range(48)) and local["map_grad_cam"].shape == (48, 1, 32, 32)
    for name in local:
        assert np.array_equal(local[name], on_ray[name]), name
    assert (local["prediction"] == local["label"]).mean() > 0.9


def test_training_shards_on_ray_are_byte_identical(ray_executor, tmp_path):
    pair = Pair("mnist", "vgg-mnist")
    local = load_file(str(build_pair_shard(pair, tmp_path / "local", per_pair=40, batch_size=16, progress=False)))
    on_ray = load_file(str(build_pair_shard(pair, tmp_path / "ray", per_pair=40, batch_size=16, progress=False, executor=ray_executor)))
    assert local.keys() == on_ray.keys() and local["cgmas"].shape == (40, 8, 32, 32)
    assert [name for name in local if not torch.equal(local[name], on_ray[name])] == []


def test_evaluating_on_ray_gives_the_same_rows(ray_executor):
    arguments = (
        ["vgg-mnist"],
        ["grad_cam", "saliency"],
        ["average_drop", "dice", "pointing_game"],
        8,
        [0, 1],
        EvaluationSettings(robustness_images=4, sanity_images=4, sanity_steps=2),
    )
    local = evaluate(*arguments, executor=LocalExecutor())
    on_ray = evaluate(*arguments, executor=ray_executor)
    assert len(local.rows) == 2 * 2 * 3 * 8  # seeds x methods x metrics x images
    assert on_ray.rows == local.rows and on_ray.config == local.config and on_ray.skipped == local.skipped
