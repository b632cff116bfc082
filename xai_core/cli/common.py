"""Argument helpers shared by the command groups of ``python -m xai_core``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from tqdm.auto import tqdm

from ..data import load_dataset, pil_to_tensor, read_image_file
from ..data.decode import MAX_WORKING_SIDE, limit_side

Progress = Callable[[float, str], None]


def seed_list(text: str) -> list[int]:
    """``--seeds``: comma-separated integers, at least one."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def eta_count(text: str) -> int:
    """``--eta``: the number of CGMAs, a positive integer."""
    try:
        eta = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"eta must be a whole number, got {text!r}") from None
    if eta < 1:
        raise argparse.ArgumentTypeError(f"eta (the number of CGMAs) must be at least 1, got {eta}")
    return eta


def method_names(values: list[str]) -> list[str]:
    """``["grad_cam,lsft", "saliency"]`` -> ["grad_cam", "lsft", "saliency"] (commas or spaces separate methods)."""
    return list(dict.fromkeys(name.strip() for value in values for name in value.split(",") if name.strip()))


def class_index(text: str, classes: list[str]) -> int:
    """A class given by name (``A``) or by index (``0``) -> its index."""
    if text in classes:
        return classes.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(classes):
        return int(text)
    raise ValueError(
        f"unknown class {text!r}; give a class name ({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}) "
        f"or an index in 0..{len(classes) - 1}"
    )


def load_image_argument(args: argparse.Namespace) -> tuple[torch.Tensor, int | None, str]:
    """The image of ``--image`` or of ``--dataset``/``--split``/``--index``: (image, true label or None, source text);
    the label is None for a file and for unlabelled data."""
    if args.image:
        return pil_to_tensor(limit_side(read_image_file(args.image), MAX_WORKING_SIDE)), None, str(args.image)
    dataset = load_dataset(args.dataset, args.split)
    if not 0 <= args.index < len(dataset):
        raise ValueError(f"--index must be in 0..{len(dataset) - 1} for {args.dataset}/{args.split}")
    image, _, _ = dataset[args.index]
    return image, dataset.label_of(args.index), f"{args.dataset}/{args.split}[{args.index}]"


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=None)


def apply_threads(args: argparse.Namespace) -> None:
    """``--threads N``: torch's intra-op thread count (left alone when not given)."""
    if args.threads:
        torch.set_num_threads(args.threads)


@contextmanager
def progress_bar(description: str, quiet: bool) -> Iterator[Progress]:
    """A tqdm bar over [0, 1] for the duration of the block; yields ``show(fraction, message)`` to move it."""
    bar = tqdm(total=1.0, desc=description, disable=quiet, bar_format="{l_bar}{bar}| {elapsed} {postfix}")

    def show(fraction: float, message: str) -> None:
        bar.n = round(fraction, 4)
        bar.set_postfix_str(message)

    try:
        yield show
    finally:
        bar.close()
