"""Your own model on the command line: ``add-model`` (validate, then register: a torchvision/timm architecture
with your weights, an ONNX file, or with ``--trust-code`` your own Python factory) and ``remove-model``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models.card import RESIZE_POLICIES, STRETCH
from ..models.checkpoints import USER_CHECKPOINT_DIR
from ..models.sources import (
    IMAGENET_CLASSES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    AddedModel,
    Preprocessing,
    add_model,
    add_onnx_model,
    remove_model,
)
from ..models.zoo import FACTORY_PREFIX


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
            f"  input        {entry['in_channels']}x{entry['input_size'][0]}x{entry['input_size'][1]} ({entry['resize']}), "
            f"mean {entry['mean']}, std {entry['std']}",
            f"  conv layers  {layers}",
            f"  forward pass on a black image: logits {list(added.logits_shape)}",
            f"  wrote        {out / entry['file']} (sha256 {entry['sha256'][:12]}...) and {out / 'manifest.json'}",
            f"  use it       python -m xai_core explain --model {entry['id']} --image photo.jpg --out runs/explain",
        ]
    )


def _cmd_add_model(args: argparse.Namespace) -> int:
    if sum(source is not None for source in (args.arch, args.onnx, args.factory)) != 1:
        raise ValueError("give exactly one of --arch (torchvision:<name> or timm:<name>), --onnx FILE or --factory SPEC")
    channels = args.in_channels or (len(args.mean) if args.mean else 3)
    default_mean, default_std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ((0.5,), (0.5,))
    preprocessing = Preprocessing(
        tuple(args.input_size or (224, 224)), tuple(args.mean or default_mean), tuple(args.std or default_std), args.resize, channels
    )
    if args.onnx is not None:
        given = args.input_size or args.mean or args.std or args.in_channels or args.resize != STRETCH
        added = add_onnx_model(args.id, args.onnx, args.classes, preprocessing if given else None, args.out)
    else:
        arch = args.arch or FACTORY_PREFIX + args.factory
        added = add_model(args.id, arch, args.weights, args.classes, preprocessing, args.out, trust_code=args.trust_code)
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
        help="register your own model (torchvision/timm architecture + weights, an ONNX file, or a trusted Python factory): "
        "validates it (one forward pass, conv layers, class count) before writing a manifest entry",
    )
    add.add_argument("--id", required=True, help="the id pages and commands will know it by")
    add.add_argument("--arch", help="torchvision:<name> or timm:<name>, e.g. torchvision:resnet50 (built without downloading weights)")
    add.add_argument("--onnx", type=Path, help="an ONNX classifier (e.g. from Keras/TF/JAX); input size and channels are read from it")
    add.add_argument(
        "--factory",
        help="your own architecture: path/to/file.py:function or package.module:function returning an nn.Module "
        "(called with num_classes= when it takes it). RUNS YOUR CODE: needs --trust-code",
    )
    add.add_argument("--trust-code", action="store_true", help="allow --factory to run the Python code it names (now and on every load)")
    add.add_argument("--weights", type=Path, help=".safetensors, or a .pt/.pth state dict (read weights_only); optional for --factory")
    add.add_argument("--classes", required=True, help=f"a .txt (one name a line), a .json list or {IMAGENET_CLASSES!r}")
    add.add_argument("--input-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="default 224 224 (ONNX: from the file)")
    add.add_argument("--in-channels", type=int, choices=(1, 3), help="input channels (timm, factory, ONNX); default 3")
    add.add_argument(
        "--resize",
        choices=RESIZE_POLICIES,
        default=STRETCH,
        help="stretch: resize the whole image to the input size; center_crop: resize the shorter side, then crop the centre",
    )
    add.add_argument("--mean", type=float, nargs="+", help="per-channel mean of pixels in [0, 1] (ImageNet's by default for 3 channels)")
    add.add_argument("--std", type=float, nargs="+", help="per-channel std (ImageNet's by default for 3 channels)")
    add.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints, which the app lists)")
    add.set_defaults(handler=_cmd_add_model)
    remove = commands.add_parser("remove-model", help="delete a model you added (its manifest entry and weights file)")
    remove.add_argument("id")
    remove.add_argument("--dir", default=str(USER_CHECKPOINT_DIR), help="the checkpoint directory it was added to")
    remove.set_defaults(handler=_cmd_remove_model)
