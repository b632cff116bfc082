"""Dataset-scale commands of ``python -m xai_core``: explain-dataset and build-shards, locally or on Ray; the executor options."""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from ..attribution.layers import DEFAULT_ETA
from ..data import UNLABELED, UNLABELLED_NOTE, ImageDataset, load_dataset
from ..data.chunks import Executor
from ..explainers import EXPLAINERS
from ..jobs.executors import RAY_ADDRESS_VARIABLE, executor_for
from ..jobs.tasks import explain_dataset
from ..models import model_info
from ..sftgan.data import DEFAULT_CACHE_DIR, STRATEGIES, build_pair_shard, strategy_pairs
from ..versions import library_versions
from .common import progress_bar


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ray-address",
        default=None,
        help=f"run on Ray: a cluster address, 'auto' to join a running one, or "
        f"'local' to start one here (default ${RAY_ADDRESS_VARIABLE}; unset: in this process)",
    )
    parser.add_argument("--workers", type=int, default=2, help="Ray actors, each holding the model (default 2)")
    parser.add_argument(
        "--cpus-per-worker",
        type=float,
        default=0.75,
        help="CPUs reserved per actor; fractions leave room for the stage feeding them (default 0.75)",
    )
    parser.add_argument(
        "--threads-per-worker",
        type=int,
        default=1,
        help="torch threads per worker, on every executor (the same count gives bit-identical outputs)",
    )


def executor_from(args: argparse.Namespace) -> Executor:
    return executor_for(args.ray_address, args.workers, args.cpus_per_worker, args.threads_per_worker)


def _write_dataset_outputs(out: Path, outputs: dict, dataset: ImageDataset) -> None:
    """maps.safetensors (the map_* arrays) and predictions.csv: index, label (empty on unlabelled data), prediction,
    confidence, file (the image's file for folder data, else empty)."""
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {name: torch.from_numpy(values).contiguous() for name, values in outputs.items() if name.startswith("map_")},
        str(out / "maps.safetensors"),
    )
    files = dataset.info.get("files") or []
    with open(out / "predictions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "label", "prediction", "confidence", "file"])
        columns = (outputs[name].tolist() for name in ("index", "label", "prediction", "confidence"))
        for index, label, prediction, confidence in zip(*columns):
            shown = "" if label == UNLABELED else label
            writer.writerow([index, shown, prediction, confidence, files[index] if index < len(files) else ""])


def dataset_accuracy(outputs: dict, dataset: ImageDataset, own_data: bool) -> float | str:
    """The share of explained images predicted as labelled, or why there is none: a figure only when the labels
    are the model's own classes (its own dataset), never on unlabelled data."""
    if not dataset.labelled:
        return UNLABELLED_NOTE
    if not own_data:
        return "n/a (not the model's own dataset: its labels are not the model's classes)"
    return round(float((outputs["prediction"] == outputs["label"]).mean()), 6)


def _cmd_explain_dataset(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.dataset, args.split)  # fails fast on a bad name or folder; folders are cached
    own_data = model_info(args.model).get("dataset") == args.dataset
    executor = executor_from(args)
    with progress_bar(f"explain ({executor.name})", args.quiet) as show:
        started = time.perf_counter()
        outputs = explain_dataset(args.model, args.dataset, args.methods, args.split, args.n, args.seed, executor, args.chunk_size, show)
        seconds = time.perf_counter() - started
    out = Path(args.out)
    _write_dataset_outputs(out, outputs, dataset)
    images = len(outputs["index"])
    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "split": args.split,
        "methods": args.methods,
        "images": images,
        "labelled": dataset.labelled,
        "target": "prediction",
        "accuracy": dataset_accuracy(outputs, dataset, own_data),
        "skipped_files": dataset.info.get("skipped", []),
        "seed": args.seed,
        "executor": executor.name,
        "seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 2),
        "versions": library_versions(),
        "command": args.argv,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: summary[k] for k in ("images", "executor", "seconds", "images_per_second", "accuracy")}))
    print(f"wrote {out / 'maps.safetensors'}, predictions.csv and summary.json")
    return 0


def _cmd_build_shards(args: argparse.Namespace) -> int:
    executor = executor_from(args)
    pairs = strategy_pairs(args.strategy)
    if not pairs:
        raise ValueError(f"no dataset of the {args.strategy} strategy is available here")
    started = time.perf_counter()
    for pair in tqdm(pairs, desc=f"{args.strategy} shards ({executor.name})", disable=args.quiet):
        path = build_pair_shard(
            pair,
            args.cache_dir,
            per_pair=args.per_pair,
            holdout_fraction=args.holdout_fraction,
            seed=args.seed,
            eta=args.eta,
            batch_size=args.chunk_size,
            progress=not args.quiet,
            executor=executor,
        )
        print(f"{pair.model_id}: {path}")
    print(f"{len(pairs)} shards in {time.perf_counter() - started:.1f} s on the {executor.name} executor")
    return 0


def _register_explain_dataset(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain-dataset",
        help="explain a whole dataset split (locally or on Ray): maps.safetensors, predictions.csv, summary.json with images/s",
    )
    explain.add_argument("--model", required=True)
    explain.add_argument("--dataset", required=True)
    explain.add_argument("--split", default="test", choices=["train", "test"])
    explain.add_argument("--methods", nargs="+", default=["grad_cam"], metavar="METHOD", help=f"any of {', '.join(EXPLAINERS)}")
    explain.add_argument("--n", type=int, default=None, help="the first N images (default: all)")
    explain.add_argument("--seed", type=int, default=0, help="seed of stochastic methods (SmoothGrad), per chunk")
    explain.add_argument("--chunk-size", type=int, default=128, help="images per unit of work")
    explain.add_argument("--out", required=True, help="output directory")
    explain.add_argument("--quiet", action="store_true")
    add_executor_options(explain)
    explain.set_defaults(handler=_cmd_explain_dataset)


def _register_build_shards(commands: argparse._SubParsersAction) -> None:
    shards = commands.add_parser(
        "build-shards",
        help="compute the SFT-GAN training shards (image, CGMAs, Grad-CAM) of a "
        "strategy's pairs, locally or on Ray; train-sftgan then reuses them",
    )
    shards.add_argument("--strategy", required=True, choices=list(STRATEGIES))
    shards.add_argument("--per-pair", type=int, default=1000)
    shards.add_argument("--holdout-fraction", type=float, default=0.2)
    shards.add_argument("--seed", type=int, default=0)
    shards.add_argument("--eta", type=int, default=DEFAULT_ETA)
    shards.add_argument("--chunk-size", type=int, default=128)
    shards.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    shards.add_argument("--quiet", action="store_true")
    add_executor_options(shards)
    shards.set_defaults(handler=_cmd_build_shards)


def register(commands: argparse._SubParsersAction) -> None:
    """explain-dataset, build-shards."""
    _register_explain_dataset(commands)
    _register_build_shards(commands)
