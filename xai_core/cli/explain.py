"""Explanation commands of ``python -m xai_core``: relevance (CGMA ablation of an SFT-GAN), explain (one image)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..attribution import cumulative_gradcam_averages, layer_gradcams
from ..attribution.layers import DEFAULT_ETA
from ..data import load_dataset
from ..explainers import EXPLAINERS, build_explainer, explain_image
from ..imaging import colorize, overlay, png_bytes
from ..models import load_model
from ..sftgan.explainer import average_relevance, explain_relevance
from ..sftgan.networks import GENERATOR_KINDS
from .common import eta_count, load_image_argument, progress_bar


def _average_relevance(args: argparse.Namespace, card, explainer) -> dict:
    """--average N: the mean (and spread) of the relevance over the first N images of --dataset."""
    if not args.dataset:
        raise ValueError("--average needs --dataset (it averages over that dataset's images)")
    dataset = load_dataset(args.dataset, args.split)
    count = min(args.average, len(dataset))
    bar = tqdm(total=count, desc="CGMA relevance", disable=args.quiet)
    mean, per_image = average_relevance(
        explainer, card.preprocess, dataset.float_images(slice(0, count)), on_progress=lambda done: bar.update(round(done * count) - bar.n)
    )
    bar.close()
    return dict(
        source=f"{args.dataset}/{args.split}[:{count}]",
        images=count,
        mean_relevance=[round(float(v), 4) for v in mean],
        std_relevance=[round(float(v), 4) for v in per_image.std(0)],
    )


def _image_relevance(args: argparse.Namespace, card, explainer) -> dict:
    """One image's relevance; with --out also its map and one blackout PNG per CGMA."""
    image, _, source = load_image_argument(args)
    analysis = explain_relevance(explainer, card.preprocess(image), args.target)
    result = dict(source=source, relevance=[round(float(v), 4) for v in analysis.relevance[0]])
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "map.png").write_bytes(png_bytes(colorize(analysis.maps[0])))
        for k, blackout in enumerate(analysis.blackout[0]):
            (out / f"blackout-cgma{k}.png").write_bytes(png_bytes(colorize(blackout[None])))
        result["blackout_pngs"] = [f"blackout-cgma{k}.png" for k in range(len(analysis.blackout[0]))]
    return result


def _cmd_relevance(args: argparse.Namespace) -> int:
    card = load_model(args.model)
    explainer = build_explainer(args.generator, card)
    result: dict = {"model": card.id, "generator": args.generator}
    result.update(_average_relevance(args, card, explainer) if args.average else _image_relevance(args, card, explainer))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "relevance.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    unknown = [m for m in args.methods if m not in EXPLAINERS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(EXPLAINERS)}")
    card = load_model(args.model)
    image, label, source = load_image_argument(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.target is not None and not 0 <= args.target < len(card.classes):
        raise ValueError(f"--target must be in 0..{len(card.classes) - 1}")
    with progress_bar("explaining", args.quiet) as show:
        explanation = explain_image(card, image, args.methods, args.target, on_progress=show)
    top, target = explanation.predictions, explanation.target
    summary = {
        "model": card.id,
        "source": source,
        "true_label": label,
        "predicted_label": top[0].label,
        "predicted_class": top[0].name,
        "target": target,
        "target_class": card.classes[target],
        "maps": {},
    }
    for method in args.methods:
        if method in explanation.not_applicable:
            summary["maps"][method] = {"not_applicable": explanation.not_applicable[method]}
            continue
        saliency = explanation.maps[method][0]
        np.save(out / f"{method}.npy", saliency[0].numpy())
        (out / f"{method}.png").write_bytes(png_bytes(overlay(image, saliency, args.opacity)))
        summary["maps"][method] = {"npy": f"{method}.npy", "png": f"{method}.png", "mean": round(float(saliency.mean()), 6)}
    if args.layers:
        layers = layer_gradcams(card.model, card.preprocess(image), target)
        np.save(out / "layer_gradcams.npy", layers.maps[0].numpy())
        np.save(out / "cgmas.npy", cumulative_gradcam_averages(layers, args.eta)[0].numpy())
        summary["layers"] = {"names": layers.names, "npy": "layer_gradcams.npy", "cgmas": "cgmas.npy", "eta": args.eta}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


def _register_relevance(commands: argparse._SubParsersAction) -> None:
    relevance = commands.add_parser("relevance", help="CGMA-ablation relevance of an SFT-GAN: one image, or averaged over a dataset")
    relevance.add_argument("--model", required=True)
    relevance.add_argument("--generator", choices=GENERATOR_KINDS, default="lsft")
    source = relevance.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    relevance.add_argument("--index", type=int, default=0)
    relevance.add_argument("--split", default="test", choices=["train", "test"])
    relevance.add_argument("--target", type=int, default=None, help="class to explain (default: the prediction)")
    relevance.add_argument("--average", type=int, default=0, metavar="N", help="average over the first N images of --dataset")
    relevance.add_argument("--out", default=None, help="write relevance.json (and, for one image, the map and 8 blackout PNGs)")
    relevance.add_argument("--quiet", action="store_true")
    relevance.set_defaults(handler=_cmd_relevance)


def _register_explain(commands: argparse._SubParsersAction) -> None:
    explain_parser = commands.add_parser("explain", help="explain one image: PNG overlays, .npy maps and summary.json")
    explain_parser.add_argument("--model", required=True)
    source = explain_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    explain_parser.add_argument("--index", type=int, default=0)
    explain_parser.add_argument("--split", default="test", choices=["train", "test"])
    explain_parser.add_argument("--methods", nargs="+", default=list(EXPLAINERS), metavar="METHOD", help=f"any of {', '.join(EXPLAINERS)}")
    explain_parser.add_argument("--target", type=int, default=None, help="class to explain (default: the prediction)")
    explain_parser.add_argument("--layers", action="store_true", help="also save every conv layer's Grad-CAM and the CGMAs")
    explain_parser.add_argument("--eta", type=eta_count, default=DEFAULT_ETA, help="CGMAs saved with --layers")
    explain_parser.add_argument("--opacity", type=float, default=0.5)
    explain_parser.add_argument("--out", required=True, help="output directory")
    explain_parser.add_argument("--quiet", action="store_true")
    explain_parser.set_defaults(handler=_cmd_explain)


def register(commands: argparse._SubParsersAction) -> None:
    """relevance, explain."""
    _register_relevance(commands)
    _register_explain(commands)
