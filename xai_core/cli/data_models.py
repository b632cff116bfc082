"""Dataset and model commands of ``python -m xai_core``: datasets, models, train-cnn, reproduce-checkpoints, predict."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..captioning.training import SHIPPED_CAPTIONER, train_captioner
from ..data import DatasetUnavailable, list_datasets, load_dataset
from ..data.registry import DATASETS
from ..generative.training import shipped_gan_configs, train_gan
from ..models import TRAINABLE_ARCHITECTURES, TrainConfig, list_models, load_model, model_info, train_cnn
from ..models.checkpoints import DEFAULT_CHECKPOINT_DIR, USER_CHECKPOINT_DIR, refuse_shadowing_shipped
from ..models.training import shipped_checkpoint_configs
from ..sftgan.training import shipped_generator_configs, train_sftgan
from .common import add_threads_option, apply_threads, load_image_argument


def _cmd_datasets(args: argparse.Namespace) -> int:
    rows = []
    for name, spec in DATASETS.items():
        try:
            split = load_dataset(name, "test")
            status = f"{len(split)} test images, {len(split.classes)} classes, {split.channels}x{split.image_size[0]}x{split.image_size[1]}"
        except DatasetUnavailable as error:
            status = f"unavailable: {error}"
        rows.append({"name": name, "description": spec.description, "source": spec.source, "masks": spec.has_masks, "status": status})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<14} {row['description']:<55} [{row['source']}] {row['status']}")
        print("also: folder:<path> (class sub-folders, or unlabelled images), torchvision-{mnist,fashion_mnist,emnist,cifar10}[:<root>]")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    rows = []
    for model_id in list_models():
        info = model_info(model_id)
        rows.append(
            {
                "id": model_id,
                "arch": info["arch"],
                "dataset": info["dataset"],
                "test_accuracy": info.get("metrics", {}).get("test_accuracy"),
                "parameters": info.get("parameters"),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            accuracy = "pretrained" if row["test_accuracy"] is None else f"test acc {row['test_accuracy']:.4f}"
            print(f"{row['id']:<28} {row['arch']:<20} {row['dataset']:<14} {accuracy}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    apply_threads(args)
    config = TrainConfig(
        args.dataset,
        args.arch,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        max_train=args.max_train,
        model_id=args.id or "",
    )
    refuse_shadowing_shipped(config.model_id, args.out, "models", "--id")
    entry = train_cnn(config, out_dir=args.out, progress=not args.quiet, device=args.device)
    if entry:  # rank 0 under torchrun
        print(json.dumps({"id": entry["id"], "file": str(Path(args.out) / entry["file"]), **entry["metrics"]}, indent=2))
    return 0


def _reproduction_plan(
    args: argparse.Namespace,
) -> tuple[list, Callable[[Any], str], Callable[..., dict | None], str, Callable[[dict], str]]:
    """What reproduce-checkpoints retrains: (shipped configs, their id, the trainer, the kind, one summary line per entry)."""
    if args.captioners:
        return (
            [SHIPPED_CAPTIONER],
            lambda c: c.captioner_id,
            train_captioner,
            "captioner",
            lambda m: f"BLEU-4 {m['bleu4']:.4f}, exact match {m['exact_match']:.4f}",
        )
    if args.gans:
        return (
            shipped_gan_configs(),
            lambda c: c.gan_id,
            train_gan,
            "GAN",
            lambda m: f"FID {m['fid']:.2f} (real vs real {m['fid_real_vs_real']:.2f})",
        )
    if args.generators:
        return (
            shipped_generator_configs(),
            lambda c: c.generator_id,
            train_sftgan,
            "generator",
            lambda m: f"held-out Dice vs Grad-CAM {m['val_dice']:.4f}",
        )
    return (
        shipped_checkpoint_configs(),
        lambda c: c.model_id,
        train_cnn,
        "checkpoint",
        lambda m: f"test accuracy {m['test_accuracy']:.4f}",
    )


def _cmd_reproduce(args: argparse.Namespace) -> int:
    configs, identify, train, kind, summary = _reproduction_plan(args)
    chosen = [c for c in configs if not args.only or identify(c) in args.only]
    if not chosen:
        raise SystemExit(f"no shipped {kind} matches {args.only}")
    for config in chosen:
        entry = train(config, out_dir=args.out, progress=not args.quiet)
        if entry:  # rank 0 under torchrun
            print(f"{entry['id']}: {summary(entry['metrics'])}", flush=True)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError("--top must be at least 1")
    card = load_model(args.model)
    image, label, source = load_image_argument(args)
    top = card.predict(image, k=args.top)
    result = {
        "model": card.id,
        "source": source,
        "true_label": label,
        "true_class": None if label is None else load_dataset(args.dataset, args.split).classes[label],
        "predicted_label": top[0].label,
        "predicted_class": top[0].name,
        "top": [{"label": p.label, "class": p.name, "probability": round(p.probability, 6)} for p in top],
    }
    print(json.dumps(result, indent=2))
    return 0


def _register_listings(commands: argparse._SubParsersAction) -> None:
    datasets = commands.add_parser("datasets", help="list datasets and whether each is available here")
    datasets.add_argument("--json", action="store_true")
    datasets.set_defaults(handler=_cmd_datasets)

    models = commands.add_parser("models", help="list loadable models with their test accuracy")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=_cmd_models)


def _register_train_cnn(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train-cnn",
        help="train a CNN on a dataset and save it with a manifest entry (also under torchrun: DDP over gloo, or nccl with --device cuda)",
    )
    train.add_argument("--dataset", required=True, help=f"one of {', '.join(list_datasets())}, folder:<path>, ...")
    train.add_argument("--arch", required=True, choices=TRAINABLE_ARCHITECTURES)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a better validation accuracy")
    train.add_argument("--max-train", type=int, default=None, help="use at most this many training images")
    train.add_argument("--id", default=None, help="model id (default <arch>-<dataset>)")
    train.add_argument(
        "--out",
        default=str(USER_CHECKPOINT_DIR),
        help="checkpoint directory whose manifest.json is updated (default runs/checkpoints, which the app lists)",
    )
    add_threads_option(train)
    train.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="under torchrun, cuda means one GPU per rank")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=_cmd_train)


def _register_reproduce(commands: argparse._SubParsersAction) -> None:
    reproduce = commands.add_parser("reproduce-checkpoints", help="retrain every shipped checkpoint from its recorded settings")
    reproduce.add_argument("--only", nargs="*", help="model ids to retrain (default: all)")
    reproduce.add_argument("--out", default=str(DEFAULT_CHECKPOINT_DIR))
    reproduce.add_argument("--generators", action="store_true", help="retrain the shipped SFT-GAN generators instead of the CNNs")
    reproduce.add_argument("--gans", action="store_true", help="retrain the shipped DCGANs instead of the CNNs")
    reproduce.add_argument("--captioners", action="store_true", help="retrain the shipped captioner instead of the CNNs")
    reproduce.add_argument("--quiet", action="store_true")
    reproduce.set_defaults(handler=_cmd_reproduce)


def _register_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser("predict", help="predict one image; prints JSON")
    predict.add_argument("--model", required=True)
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="an image file")
    source.add_argument("--dataset", help="a dataset name (with --index)")
    predict.add_argument("--index", type=int, default=0)
    predict.add_argument("--split", default="test", choices=["train", "test"])
    predict.add_argument("--top", type=int, default=5)
    predict.set_defaults(handler=_cmd_predict)


def register(commands: argparse._SubParsersAction) -> None:
    """datasets, models, train-cnn, reproduce-checkpoints, predict."""
    _register_listings(commands)
    _register_train_cnn(commands)
    _register_reproduce(commands)
    _register_predict(commands)
