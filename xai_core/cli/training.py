"""Generator training commands of ``python -m xai_core``: train-sftgan, train-gan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..attribution.layers import DEFAULT_ETA
from ..generative.training import RECIPES, GANConfig, train_gan
from ..models.checkpoints import USER_CHECKPOINT_DIR, refuse_shadowing_shipped
from ..sftgan.data import DEFAULT_CACHE_DIR, GENERATOR_MAX_SIDE, STRATEGIES
from ..sftgan.networks import GENERATOR_KINDS
from ..sftgan.training import SFTGANConfig, train_sftgan
from .common import add_threads_option, apply_threads, eta_count


def _cmd_train_sftgan(args: argparse.Namespace) -> int:
    apply_threads(args)
    config = SFTGANConfig(
        args.kind,
        args.strategy or "",
        pairs=list(args.pairs or []),
        max_side=args.input_size,
        data_seed=args.data_seed,
        keep_best=args.keep_best,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lambda_reconstruction=args.lambda_reconstruction,
        reconstruction=args.reconstruction,
        channels=args.channels,
        condition_channels=args.condition_channels,
        eta=args.eta,
        per_pair=args.per_pair,
        holdout_fraction=args.holdout_fraction,
        generator_id=args.id or "",
    )
    refuse_shadowing_shipped(config.generator_id, args.out, "generators", "--id")
    entry = train_sftgan(
        config, out_dir=args.out, run_dir=args.run_dir, cache_dir=args.cache_dir, resume=not args.no_resume, progress=not args.quiet
    )
    if entry:  # rank 0 under torchrun
        print(
            json.dumps(
                {
                    "id": entry["id"],
                    "file": str(Path(args.out) / entry["file"]),
                    "parameters": entry["parameters"],
                    **{k: v for k, v in entry["metrics"].items() if k != "per_pair"},
                },
                indent=2,
            )
        )
    return 0


def _cmd_train_gan(args: argparse.Namespace) -> int:
    apply_threads(args)
    config = GANConfig(
        args.dataset,
        conditional=args.conditional,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        latent_dim=args.latent_dim,
        width=args.width,
        feature_model=args.feature_model or "",
        gan_id=args.id or "",
        recipe=args.recipe,
        discriminator_width=args.discriminator_width,
    )
    refuse_shadowing_shipped(config.gan_id, args.out, "gans", "--id")
    entry = train_gan(
        config,
        out_dir=args.out,
        run_dir=args.run_dir,
        progress=not args.quiet,
        score=not args.no_fid,
        device=args.device,
        resume=not args.no_resume,
    )
    if entry:  # rank 0 under torchrun
        print(
            json.dumps(
                {"id": entry["id"], "file": str(Path(args.out) / entry["file"]), "parameters": entry["parameters"], **entry["metrics"]},
                indent=2,
            )
        )
    return 0


def _register_train_sftgan(commands: argparse._SubParsersAction) -> None:
    sftgan = commands.add_parser(
        "train-sftgan",
        help="train an LSFT/GSFT generator over a strategy's dataset/CNN pairs, or your own (also under torchrun: DDP over gloo)",
    )
    sftgan.add_argument("--kind", required=True, choices=GENERATOR_KINDS)
    source = sftgan.add_mutually_exclusive_group(required=True)
    source.add_argument("--strategy", choices=list(STRATEGIES), help="the shipped pair sets: symbols, objects (zoo CNNs), photos (224 px)")
    source.add_argument(
        "--pairs",
        nargs="+",
        metavar="MODEL@DATASET",
        help="any registered model and dataset, e.g. my-resnet@folder:/data/leaves (unlabelled folders: the class split "
        "uses the model's predicted class); images come from the dataset's train split only",
    )
    sftgan.add_argument(
        "--keep-best", action="store_true", help="write the epoch with the best held-out Dice, not the last (report a test split too)"
    )
    sftgan.add_argument(
        "--input-size", type=int, default=GENERATOR_MAX_SIDE, help="the generator's working size (longer side); maps are upsampled"
    )
    sftgan.add_argument("--seed", type=int, default=0)
    sftgan.add_argument(
        "--data-seed", type=int, default=None, help="seed of the sample and held-out split (default: --seed); fix it to repeat over seeds"
    )
    sftgan.add_argument("--epochs", type=int, default=6)
    sftgan.add_argument("--batch-size", type=int, default=32)
    sftgan.add_argument("--lr", type=float, default=2e-4)
    sftgan.add_argument("--lambda", dest="lambda_reconstruction", type=float, default=100.0, help="weight of the reconstruction loss")
    sftgan.add_argument("--reconstruction", choices=["mse", "l1"], default="mse")
    sftgan.add_argument("--channels", type=int, default=24, help="generator trunk width")
    sftgan.add_argument("--condition-channels", type=int, default=16, help="condition network width")
    sftgan.add_argument("--eta", type=eta_count, default=DEFAULT_ETA, help="CGMAs per image = SFT blocks")
    sftgan.add_argument("--per-pair", type=int, default=1000, help="images per dataset/CNN pair")
    sftgan.add_argument("--holdout-fraction", type=float, default=0.2, help="share of classes (and of source photos) kept for validation")
    sftgan.add_argument("--id", default=None, help="generator id (default <kind>-<strategy>, or <kind>-<model> for --pairs of one model)")
    sftgan.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints)")
    sftgan.add_argument(
        "--run-dir", default=None, help="resumable state, history.json, loss_curves.png (default runs/sftgan/<id>-seed<seed>)"
    )
    sftgan.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR), help="where (image, CGMAs, Grad-CAM) shards are cached")
    sftgan.add_argument("--no-resume", action="store_true", help="start from scratch even if run-dir holds a state")
    add_threads_option(sftgan)
    sftgan.add_argument("--quiet", action="store_true")
    sftgan.set_defaults(handler=_cmd_train_sftgan)


def _register_train_gan(commands: argparse._SubParsersAction) -> None:
    gan = commands.add_parser(
        "train-gan",
        help="train a DCGAN (unconditional or --conditional) on a dataset; sample grid per "
        "epoch in the run dir, FID beside the real-vs-real baseline in the manifest "
        "(also under torchrun: DDP over gloo, or nccl with --device cuda)",
    )
    gan.add_argument("--dataset", required=True)
    gan.add_argument("--conditional", action="store_true", help="class-conditional generator and projection discriminator")
    gan.add_argument("--seed", type=int, default=0)
    gan.add_argument("--epochs", type=int, default=30)
    gan.add_argument("--batch-size", type=int, default=64)
    gan.add_argument("--lr", type=float, default=2e-4)
    gan.add_argument("--latent-dim", type=int, default=64)
    gan.add_argument("--width", type=int, default=64, help="generator (and, unless --discriminator-width, discriminator) base width")
    gan.add_argument("--discriminator-width", type=int, default=0, help="discriminator base width (default: --width)")
    gan.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default="dcgan",
        help="dcgan (Radford et al.), sngan (hinge, EMA, DiffAugment, AC), projected (sngan with a discriminator on the "
        "frozen resnet-<dataset>), projected-diverse (projected + a pixel head + the mode-seeking term, against mode collapse), "
        "projected-deviation (projected + a pixel head + the minibatch standard deviation of the discriminator's features), "
        "projected-layered (projected-deviation with a generator that composes a one-colour mask over a background), "
        "projected-placed (projected-deviation with a learnt outline per class that the latent turns, scales and moves), "
        "projected-placed-coarse (the same outline at half the side, in an empty frame), "
        "projected-placed-striped (the coarse outline with empty outer pixels over one colour with stripes), "
        "projected-placed-radial (a solid star-shaped outline, a radius per angle and a hole, in HSV colours, over stripes), "
        "projected-placed-cluttered (the radial outline over stripes with lines and dots), "
        "projected-placed-prior (the cluttered generator with its pose sampled from a uniform prior, inside the image), "
        "projected-placed-smooth (the prior-posed generator with a smooth outline and its object's colour from a prior), "
        "projected-placed-open (the smooth generator with every outline started as a ring), "
        "projected-placed-polygon (the smooth generator with polygon outlines of 12 straight-edged vertices), "
        "projected-placed-round (the smooth generator with a round, fast hole started open and a bounded spread), "
        "projected-placed-polygon-round (the polygon generator with that round hole), "
        "projected-placed-polygon-penalised (polygon-round + a price on open holes, weight 1), "
        "projected-placed-polygon-closed (penalised with the holes started closed), "
        "projected-placed-polygon-ensemble (penalised with a discriminator on resnet- and mobilenet-<dataset>), "
        "projected-placed-round-closed (the smooth outlines with the closed, penalised round hole), "
        "projected-placed-polygon-heavy (closed with holes priced at weight 4) "
        "or projected-placed-polygon-heavy-open (heavy with the holes started open; the shipped cdcgan-shapes)",
    )
    gan.add_argument("--feature-model", default=None, help="CNN whose penultimate layer is the FID feature network (default vgg-<dataset>)")
    gan.add_argument("--no-fid", action="store_true", help="skip scoring (FID needs the feature CNN)")
    gan.add_argument("--id", default=None, help="GAN id (default dcgan-<dataset> or cdcgan-<dataset>)")
    gan.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints)")
    gan.add_argument("--run-dir", default=None, help="sample grids and history.json (default runs/gan/<id>-seed<seed>)")
    add_threads_option(gan)
    gan.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="under torchrun, cuda means one GPU per rank")
    gan.add_argument("--no-resume", action="store_true", help="start from scratch even if run-dir holds a state")
    gan.add_argument("--quiet", action="store_true")
    gan.set_defaults(handler=_cmd_train_gan)


def register(commands: argparse._SubParsersAction) -> None:
    """train-sftgan, train-gan."""
    _register_train_sftgan(commands)
    _register_train_gan(commands)
