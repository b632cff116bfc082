"""Captioning commands of ``python -m xai_core``: train-captioner, caption, captioning-results."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..captioning.model import load_captioner, prepare_image
from ..captioning.results import REPORT_SCENES, REPORT_SEEDS, render_captioning_markdown, run_captioning_results, write_captioning_results
from ..captioning.training import SHIPPED_CAPTIONER, CaptionerConfig, caption_images, train_captioner
from ..captioning.words import CAPTION_METHODS, WORD_TABLE_COLUMNS, word_cgmas, word_explanations, word_objects, word_table
from ..data.captioning import SPLIT_SIZES, make_scene
from ..data.decode import read_image_file
from ..imaging import colorize, fit_to_side, overlay, png_bytes, to_uint8
from ..models.checkpoints import USER_CHECKPOINT_DIR, refuse_shadowing_shipped
from ..models.zoo import TRAINABLE_ARCHITECTURES
from .common import add_threads_option, apply_threads, progress_bar


def _cmd_train_captioner(args: argparse.Namespace) -> int:
    apply_threads(args)
    config = CaptionerConfig(
        args.encoder,
        "" if args.encoder_from == "none" else args.encoder_from,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_train=args.max_train,
        captioner_id=args.id or "",
    )
    refuse_shadowing_shipped(config.captioner_id, args.out, "captioners", "--id")
    entry = train_captioner(config, out_dir=args.out, progress=not args.quiet)
    print(json.dumps({"id": entry["id"], "file": str(Path(args.out) / entry["file"]), **entry["metrics"]}, indent=2))
    return 0


def _cmd_caption(args: argparse.Namespace) -> int:
    captioner = load_captioner(args.captioner)
    if args.image is not None:
        image, scene, source = prepare_image(read_image_file(args.image)), None, str(args.image)
    else:
        if not 0 <= args.index < SPLIT_SIZES["test"]:
            raise ValueError(f"--index must be in 0..{SPLIT_SIZES['test'] - 1}")
        scene = make_scene("test", args.index)
        image, source = scene.image.float() / 255, f"captioning/test#{args.index}"
    words = caption_images(captioner, image[None])[0]
    print(f"{source}: {' '.join(words)}" + (f"   (true: {scene.caption})" if scene is not None else ""))
    if not words:
        print("the captioner produced no words to explain")
        return 0
    explanation = word_explanations(captioner, image, words, args.methods)
    if scene is not None:
        explanation.objects = word_objects(words, scene.objects)
    records = word_table(explanation, None if scene is None else scene.masks)
    for record in records:
        figures = "" if record["mass_on_object"] is None else f"  mass on object {record['mass_on_object']:.3f}"
        figures += "" if record["intensity"] is None else f"  intensity {record['intensity']:.3f}"
        print(
            f"{record['position']:>2} {record['word']:<8} {record['role']:<9} p={record['probability']:.3f}  {record['method']:<9}{figures}"
        )
    if args.out:
        _write_caption_outputs(Path(args.out), image, explanation.maps, words, records, source, args.quiet)
        if args.cgmas:
            _write_cgma_strips(Path(args.out), word_cgmas(captioner, image, words), words)
    return 0


def _write_cgma_strips(out: Path, cgmas: torch.Tensor, words: list[str]) -> None:
    """One PNG per word, <position>-<word>-cgmas.png: its eta CGMAs (shallow to deep) side by side, jet-coloured."""
    for position, word in enumerate(words):
        strip = np.concatenate([colorize(cgma[None]) for cgma in cgmas[position]], axis=1)
        (out / f"{position}-{word}-cgmas.png").write_bytes(png_bytes(strip))
    print(f"wrote {len(words)} CGMA strips ({cgmas.shape[1]} CGMAs each)")


def _write_caption_outputs(
    out: Path, image: torch.Tensor, maps: dict[str, torch.Tensor], words: list[str], records: list[dict], source: str, quiet: bool
) -> None:
    """words.csv / words.json (WORD_TABLE_COLUMNS) and one overlay PNG per word and method: <position>-<word>-<method>.png."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "words.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=WORD_TABLE_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    (out / "words.json").write_text(json.dumps({"source": source, "caption": " ".join(words), "words": records}, indent=2) + "\n")
    (out / "image.png").write_bytes(png_bytes(fit_to_side(to_uint8(image), 256)))
    tiles = [(position, word, method) for method in maps for position, word in enumerate(words)]
    for position, word, method in tqdm(tiles, desc="writing maps", disable=quiet):
        (out / f"{position}-{word}-{method}.png").write_bytes(png_bytes(overlay(image, maps[method][position], display_side=256)))
    print(f"wrote {out}/words.csv, words.json, image.png and {len(tiles)} map PNGs")


def _cmd_captioning_results(args: argparse.Namespace) -> int:
    seeds = tuple(args.seeds)
    with progress_bar("captioning-results", args.quiet) as show:
        if args.write:
            text = f"wrote {write_captioning_results(seeds=seeds, scenes=args.scenes, rerun=args.rerun, on_progress=show)}"
        else:
            text = render_captioning_markdown(run_captioning_results(seeds, args.scenes, rerun=args.rerun, on_progress=show))
    print(text)
    return 0


def _register_train_captioner(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train-captioner",
        help="train an image captioner (zoo CNN encoder + attention GRU) on the "
        "captioning scenes; BLEU-4 and exact match on the test split go into the manifest",
    )
    train.add_argument("--encoder", choices=TRAINABLE_ARCHITECTURES, default=SHIPPED_CAPTIONER.encoder)
    train.add_argument(
        "--encoder-from",
        default=SHIPPED_CAPTIONER.encoder_from,
        help="zoo classifier whose conv weights start the encoder, or 'none' (default %(default)s)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=SHIPPED_CAPTIONER.epochs)
    train.add_argument("--batch-size", type=int, default=SHIPPED_CAPTIONER.batch_size)
    train.add_argument("--lr", type=float, default=SHIPPED_CAPTIONER.lr)
    train.add_argument("--max-train", type=int, default=None, help="use at most this many training scenes (of 4,000)")
    train.add_argument("--id", default=None, help="captioner id (default captioner-<encoder>)")
    train.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints)")
    add_threads_option(train)
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_cmd_train_captioner)


def _register_caption(commands: argparse._SubParsersAction) -> None:
    caption = commands.add_parser(
        "caption",
        help="caption an image (or a captioning test scene) and explain every word "
        "with Grad-CAM, LSFT, GSFT and saliency; per-word mass on the word's object for scenes",
    )
    source = caption.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path)
    source.add_argument("--index", type=int, help="a scene of the captioning test split (0-499)")
    caption.add_argument("--captioner", default=SHIPPED_CAPTIONER.captioner_id)
    caption.add_argument("--methods", nargs="+", choices=list(CAPTION_METHODS), default=list(CAPTION_METHODS))
    caption.add_argument("--out", default=None, help="write words.csv, words.json and a PNG per word and method here")
    caption.add_argument("--cgmas", action="store_true", help="with --out, also a strip of each word's CGMAs")
    caption.add_argument("--quiet", action="store_true")
    caption.set_defaults(handler=_cmd_caption)


def _register_captioning_results(commands: argparse._SubParsersAction) -> None:
    results = commands.add_parser(
        "captioning-results",
        help="per-word localisation of each method over captioners of several "
        "seeds (missing ones are trained, about 9 minutes each on 2 cores); --write updates docs/results.md",
    )
    results.add_argument("--seeds", type=int, nargs="+", default=list(REPORT_SEEDS))
    results.add_argument("--scenes", type=int, default=REPORT_SCENES, help="test scenes to caption (exactly captioned ones are explained)")
    results.add_argument("--rerun", action="store_true", help="recompute even when cached in runs/gan-results")
    results.add_argument("--write", action="store_true", help="replace the captioning section of docs/results.md")
    results.add_argument("--quiet", action="store_true")
    results.set_defaults(handler=_cmd_captioning_results)


def register(commands: argparse._SubParsersAction) -> None:
    """train-captioner, caption, captioning-results."""
    _register_train_captioner(commands)
    _register_caption(commands)
    _register_captioning_results(commands)
