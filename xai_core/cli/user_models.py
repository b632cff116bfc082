"""Your own model on the command line: ``add-model`` (validate, then register) and ``remove-model``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.checkpoints import USER_CHECKPOINT_DIR
from ..models.sources import IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, AddedModel, add_model, remove_model


def summary(added: AddedModel, out: Path) -> str:
    """One screen: what was registered, its preprocessing, the conv layers found and where it was written."""
    entry, convs = added.entry, added.conv_layers
    classes = entry["classes"]
    shown = ", ".join(classes[:5]) + (f", ... ({len(classes)} in all)" if len(classes) > 5 else "")
    layers = (
        "none: CAM methods and CGMAs will not apply"
        if not convs
        else (f"{len(convs)} ({convs[0]} ... {convs[-1]})" if len(convs) > 2 else ", ".join(convs))
    )
    return "\n".join(
        [
            f"registered {entry['id']}: {entry['arch']}, {entry['parameters']:,} parameters",
            f"  classes      {shown}",
            f"  input        3x{entry['input_size'][0]}x{entry['input_size'][1]}, mean {entry['mean']}, std {entry['std']}",
            f"  conv layers  {layers}",
            f"  forward pass on a black image: logits {list(added.logits_shape)}",
            f"  wrote        {out / entry['file']} (sha256 {entry['sha256'][:12]}...) and {out / 'manifest.json'}",
            f"  use it       python -m xai_core explain --model {entry['id']} --image photo.jpg --out runs/explain",
        ]
    )


def _cmd_add_model(args: argparse.Namespace) -> int:
    added = add_model(args.id, args.arch, args.weights, args.classes, tuple(args.input_size), tuple(args.mean), tuple(args.std), args.out)
    print(summary(added, Path(args.out)))
    return 0


def _cmd_remove_model(args: argparse.Namespace) -> int:
    removed = remove_model(args.id, args.dir)
    print(f"removed {args.id} ({removed}) from {Path(args.dir) / 'manifest.json'}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """add-model, remove-model."""
    add = commands.add_parser(
        "add-model",
        help="register your own torchvision-architecture model: validates the weights "
        "(one forward pass, conv layers, class count) before writing a manifest entry",
    )
    add.add_argument("--id", required=True, help="the id pages and commands will know it by")
    add.add_argument("--arch", required=True, help="torchvision:<name>, e.g. torchvision:resnet50 (built without downloading weights)")
    add.add_argument("--weights", required=True, type=Path, help=".safetensors, or a .pt/.pth state dict (read with weights_only=True)")
    add.add_argument("--classes", required=True, help=f"a .txt (one name a line), a .json list or {IMAGENET_CLASSES!r}")
    add.add_argument("--input-size", type=int, nargs=2, default=[224, 224], metavar=("HEIGHT", "WIDTH"))
    add.add_argument("--mean", type=float, nargs=3, default=list(IMAGENET_MEAN), help="per-channel mean (ImageNet's by default)")
    add.add_argument("--std", type=float, nargs=3, default=list(IMAGENET_STD), help="per-channel std (ImageNet's by default)")
    add.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints, which the app lists)")
    add.set_defaults(handler=_cmd_add_model)
    remove = commands.add_parser("remove-model", help="delete a model you added (its manifest entry and weights file)")
    remove.add_argument("id")
    remove.add_argument("--dir", default=str(USER_CHECKPOINT_DIR), help="the checkpoint directory it was added to")
    remove.set_defaults(handler=_cmd_remove_model)
