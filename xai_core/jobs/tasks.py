"""Dataset-scale jobs on any executor: explaining a dataset, computing SFT-GAN training shards (CGMAs),
and evaluating. Each worker class loads its model and data once per process or Ray actor; every chunk is
computed the same way on every executor, so local and Ray outputs are identical."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import torch

from ..data import load_dataset
from ..data.chunks import Arrays, Executor, LocalExecutor, ProgressCallback, concatenate, row_chunks
from ..explainers import build_explainer
from ..metrics.suite import EvaluationResult, EvaluationSettings, evaluation_config, parse_pair, run_evaluation
from ..models import load_model


class ExplainWorker:
    """Maps of ``methods`` for dataset rows ``indices[start:stop]``; the predicted class is explained (so unlabelled
    data, whose labels are all -1, needs nothing else)."""

    def __init__(self, model_id: str, dataset: str, split: str, methods: Sequence[str], indices: Sequence[int], seed: int = 0):
        self.card = load_model(model_id)
        self.dataset = load_dataset(dataset, split)
        self.explainers = {method: build_explainer(method, self.card) for method in methods}
        self.indices, self.seed = torch.as_tensor(list(indices)), seed

    def __call__(self, chunk: dict) -> Arrays:
        rows = self.indices[chunk["start"] : chunk["stop"]]
        inputs = self.card.preprocess(self.dataset.float_images(rows))
        with torch.inference_mode():
            probabilities = self.card.model(inputs).softmax(dim=1)
        confidence, prediction = probabilities.max(dim=1)
        output = {
            "index": rows.numpy(),
            "label": self.dataset.labels[rows].numpy(),
            "prediction": prediction.numpy(),
            "confidence": confidence.numpy(),
        }
        for method, explainer in self.explainers.items():
            torch.manual_seed(self.seed + int(chunk["start"]))  # SmoothGrad's noise depends on the chunk, not the executor
            output[f"map_{method}"] = explainer.attribute(inputs, prediction).detach().float().numpy()
        return output


def explain_dataset(
    model_id: str,
    dataset: str,
    methods: Sequence[str],
    split: str = "test",
    n: int | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    chunk_size: int = 128,
    on_progress: ProgressCallback | None = None,
) -> Arrays:
    """Explain the first ``n`` images (all when None) of a split. Returns {"index", "label" (-1 on unlabelled data),
    "prediction", "confidence": [N], "map_<method>": float32 [N, 1, H, W] in [0, 1]}; the maps explain the prediction."""
    size = len(load_dataset(dataset, split))
    indices = list(range(size if n is None else min(n, size)))
    if not indices:
        raise ValueError(f"{dataset}/{split} has no images to explain")
    results = (executor or LocalExecutor()).run(
        ExplainWorker,
        row_chunks(len(indices), chunk_size),
        {"model_id": model_id, "dataset": dataset, "split": split, "methods": list(methods), "indices": indices, "seed": seed},
        on_progress,
    )
    return concatenate(results)


class EvaluationWorker:
    """One (pair, seed) of the metric suite; rows come back as one JSON document."""

    def __init__(self, methods: Sequence[str], metrics: Sequence[str], n: int, settings: dict):
        self.methods, self.metrics, self.n = list(methods), list(metrics), n
        self.settings = EvaluationSettings(**{**settings, "noise_levels": tuple(settings["noise_levels"])})

    def __call__(self, chunk: dict) -> Arrays:
        result = run_evaluation([chunk["pair"]], self.methods, self.metrics, self.n, [chunk["seed"]], self.settings)
        return {
            "rows": np.array([json.dumps(result.rows)]),
            "skipped": np.array([json.dumps(result.skipped)]),
            "targets": np.array([json.dumps(result.targets)]),
        }


def evaluate(
    pairs: Sequence[str],
    methods: Sequence[str],
    metrics: Sequence[str],
    n: int = 100,
    seeds: Sequence[int] = (0,),
    settings: EvaluationSettings = EvaluationSettings(),
    executor: Executor | None = None,
    on_progress: ProgressCallback | None = None,
) -> EvaluationResult:
    """``run_evaluation`` with one chunk per (pair, seed) on ``executor``: the same rows, in the same order."""
    parsed = [parse_pair(pair) for pair in pairs]
    chunks = [{"pair": pair, "seed": int(seed)} for pair in pairs for seed in seeds]
    results = (executor or LocalExecutor()).run(
        EvaluationWorker, chunks, {"methods": list(methods), "metrics": list(metrics), "n": n, "settings": asdict(settings)}, on_progress
    )
    rows, skipped, targets = [], [], {}
    for chunk, result in zip(chunks, results):
        rows += json.loads(str(result["rows"][0]))
        targets.update(json.loads(str(result["targets"][0])))
        if chunk["seed"] == int(seeds[0]):
            skipped += json.loads(str(result["skipped"][0]))
    return EvaluationResult(rows, evaluation_config(parsed, methods, metrics, n, seeds, settings), skipped, targets)
