"""Seeded GAN training (unconditional or class-conditional) with per-epoch sample grids and FID.

A recipe (``RECIPES``) fixes the generator and the training: ``dcgan`` is Radford et al.'s (transposed
convolutions, non-saturating BCE loss, Adam(2e-4, betas 0.5/0.999)); ``sngan`` is a small-data recipe, made for the shapes
GANs (upsampling generator with class-conditional BatchNorm, hinge loss, Adam betas 0/0.9, an EMA generator,
DiffAugment on every discriminator input, an AC-GAN classifier head); ``projected`` is ``sngan`` with a discriminator
on the features of the frozen ``resnet-<dataset>`` zoo CNN (Projected GANs), for datasets a small discriminator cannot
learn on 2 cores; ``projected-diverse`` adds a pixel head to that discriminator and the mode-seeking term
(MSGAN) to the generator's loss, against mode collapse; ``projected-deviation`` adds the pixel head and lets the
discriminator read the minibatch standard deviation of its features instead; ``projected-layered`` is
``projected-deviation`` with the layered generator (a mask of one colour over a background); ``projected-placed`` is
``projected-deviation`` with the placed generator (a learnt outline per class, turned, scaled and moved by the latent,
in one colour over a background); ``projected-placed-coarse`` draws that outline at half the side in an empty frame;
``projected-placed-striped`` keeps the coarse outline's outer pixels empty and paints, instead of a background drawn
by convolutions, one colour modulated by a plane wave; ``projected-placed-radial`` draws, instead of the outline's
pixels, a solid star-shaped outline (a learnt radius per angle and a hole), in colours read as HSV;
``projected-placed-cluttered`` adds strokes (lines and dots) to its background; ``projected-placed-prior`` samples
that generator's pose (place, size, angle) from a fixed uniform prior over where ``shapes`` puts its objects;
``projected-placed-smooth`` draws its outline as a Fourier series of 15 harmonics and samples the object's colour from
``shapes``' colour prior; ``projected-placed-open`` starts every outline of that generator as a ring.
The judge (``feature_model``,
``vgg-<dataset>``) never trains the generator. Training resumes from ``run_dir/state.pt``. After training
the generator is scored by FID against the real test split under the domain CNN's penultimate
features, beside the real-vs-real baseline (training images vs the same test images, equal n), and,
for conditional GANs, by the domain CNN's accuracy on generated images of each requested class.
The same code path runs alone or under ``torchrun`` (DDP: gloo on CPU, nccl on GPU; see
``models.distributed``): the generator's BatchNorm is synchronised over the ranks, so W ranks with
batch B/W train what one process trains with batch B, up to rounding.
"""

from __future__ import annotations

import copy
import json
import platform
import re
import shlex
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data import load_dataset
from ..models.checkpoints import (
    REPOSITORY_ROOT,
    USER_CHECKPOINT_DIR,
    changed_option_arguments,
    load_run_state,
    out_dir_arguments,
    save_run_state,
    save_state_dict,
    write_manifest_entry,
)
from ..models.distributed import Distributed, distributed_context
from ..models.registry import load_model
from ..models.zoo import count_parameters
from .dcgan import (
    MANIFEST_SECTION,
    PROJECTION_TAPS,
    DCGANDiscriminator,
    Discriminator,
    FrozenTaps,
    LatentGenerator,
    ProjectedDiscriminator,
    build_generator,
    sample_latents,
)
from .fid import PenultimateFeatures, fid_with_baseline, seeded_subset

RUN_DIR = REPOSITORY_ROOT / "runs" / "gan"
GRID_SEED = 12345
FID_SAMPLES = 2000  # at most: the test split's size when smaller


@dataclass(frozen=True)
class Recipe:
    """How a GAN is trained; ``GANConfig.recipe`` names one of ``RECIPES``.

    generator: key of ``dcgan.GENERATOR_ARCHITECTURES``; loss: "bce" (non-saturating, DCGAN) or "hinge" (SNGAN:
    Miyato et al., ICLR 2018); betas: Adam's; ema_decay: the saved generator is an exponential moving average of the
    trained one's weights (Yazici et al., ICLR 2019), its BatchNorm statistics re-estimated after every epoch
    (:func:`recalibrate_batchnorm`), 0 for none; augment: DiffAugment (Zhao et al., NeurIPS 2020),
    a random brightness, saturation, contrast and translation on every discriminator input, real and generated;
    classifier_weight: weight of the AC-GAN cross-entropy (Odena et al., ICML 2017) on real labels for the
    discriminator and on requested labels for the generator, 0 for none; projection: the zoo architecture whose
    ``<architecture>-<dataset>`` CNN, frozen, the discriminator reads (``dcgan.ProjectedDiscriminator``), "" for DCGAN's;
    pixel_head: the projected discriminator also reads the pixels; mode_seeking: weight of the mode-seeking term
    (:func:`mode_seeking_loss`) in the generator's loss, 0 for none; deviation: the discriminator also reads the
    minibatch standard deviation of its features (``dcgan.group_deviation``; Karras et al., ICLR 2018); hole_penalty:
    weight of the generated images' mean open hole share (``dcgan.RadialPlacedGenerator.hole_shares``) in the
    generator's loss, 0 for none, so that a hole stays open only where the discriminator asks for it.
    """

    generator: str
    loss: str
    betas: tuple[float, float]
    ema_decay: float = 0.0
    augment: bool = False
    classifier_weight: float = 0.0
    projection: str = ""
    pixel_head: bool = False
    mode_seeking: float = 0.0
    deviation: bool = False
    hole_penalty: float = 0.0


SNGAN = Recipe("nearest", "hinge", (0.0, 0.9), ema_decay=0.999, augment=True, classifier_weight=1.0)
PROJECTED = replace(SNGAN, projection="resnet")
# the conditional projected GAN gave one image per class whatever the latent: a discriminator that sees the spread of its
# features over a group of images penalises that, where the mode-seeking term pushed variety for its own sake
PROJECTED_DEVIATION = replace(PROJECTED, pixel_head=True, deviation=True)
RECIPES = {
    "dcgan": Recipe("transposed", "bce", (0.5, 0.999)),
    "sngan": SNGAN,
    "projected": PROJECTED,
    # mode-seeking weight 0.2: at MSGAN's 1 (on images in [0, 1], where MSGAN's are in [-1, 1]) the shapes samples grew
    # more varied than the real images and stopped looking like them (docs/results.md, "The shapes GANs: what was tried")
    "projected-diverse": replace(PROJECTED, pixel_head=True, mode_seeking=0.2),
    "projected-deviation": PROJECTED_DEVIATION,
    # on shapes the judge forgives a flat background far more than a blurred object (docs/results.md, the FID
    # yardsticks): the layered generator draws the object's edge as one sharp mask
    "projected-layered": replace(PROJECTED_DEVIATION, generator="layered"),
    # the layered generator's masks stayed blobs: the placed one draws a learnt outline per class, turned and moved
    "projected-placed": replace(PROJECTED_DEVIATION, generator="placed"),
    "projected-placed-coarse": replace(PROJECTED_DEVIATION, generator="placed-coarse"),
    "projected-placed-striped": replace(PROJECTED_DEVIATION, generator="placed-striped"),
    "projected-placed-radial": replace(PROJECTED_DEVIATION, generator="placed-radial"),
    "projected-placed-cluttered": replace(PROJECTED_DEVIATION, generator="placed-cluttered"),
    # every learnt pose pushed the objects to the border: the prior-posed generator samples the pose instead
    "projected-placed-prior": replace(PROJECTED_DEVIATION, generator="placed-prior"),
    # its outlines grew spikes and its colours came out darker than any real object's: a smooth outline, a colour prior
    "projected-placed-smooth": replace(PROJECTED_DEVIATION, generator="placed-smooth"),
    # its ring class never opened the hole it started without: every outline starts as a ring
    "projected-placed-open": replace(PROJECTED_DEVIATION, generator="placed-open"),
    # its ring class drew a many-armed star whose hole, a shrunk copy of the star, vanished between the arms: a round hole,
    # and outlines whose farthest point is at most 2.5 times their nearest
    "projected-placed-round": replace(PROJECTED_DEVIATION, generator="placed-round"),
    # the smooth outlines came out ragged (a spiky triangle, a many-armed ring): polygons of straight edges instead
    "projected-placed-polygon": replace(PROJECTED_DEVIATION, generator="placed-polygon"),
    # the polygon trial's classes came out clean but for its ring, a propeller: the round hole on the polygons
    "projected-placed-polygon-round": replace(PROJECTED_DEVIATION, generator="placed-polygon-round"),
    # its fast hole opened where no class has one (a triangle cut in two): a hole costs its share (weight 1, not tuned),
    # which only the discriminator's push can pay
    "projected-placed-polygon-penalised": replace(PROJECTED_DEVIATION, generator="placed-polygon-round", hole_penalty=1.0),
    # the triangle kept the hole every class started with, and the cross drew an irregular star, where both came out
    # clean in the polygon trial, whose holes started closed: the penalised round hole, started closed
    "projected-placed-polygon-closed": replace(PROJECTED_DEVIATION, generator="placed-polygon-closed", hole_penalty=1.0),
    # the closed trial's cross drew an irregular star, the class that cost it most of its FID, and the smooth trial's
    # ring a many-armed star, the class that cost it most of its (the class swaps in docs/results.md): the smooth
    # outlines with the closed trial's closed, penalised round hole
    "projected-placed-round-closed": replace(PROJECTED_DEVIATION, generator="placed-round-closed", hole_penalty=1.0),
    # the closed trial's cross drew an irregular star, the class that cost it most of its FID (the class swaps in
    # docs/results.md), where the polygon trial's cross came out clean and its ring never opened its slow hole (its
    # sample grids): holes cost 4 times as much, so that only the class that needs one most opens it
    "projected-placed-polygon-heavy": replace(PROJECTED_DEVIATION, generator="placed-polygon-closed", hole_penalty=4.0),
    # the heavy trial's cross came out clean, and its ring class never opened its hole and drew a three-bladed propeller
    # (its sample grids), the class that cost it most of its FID (the class swaps in docs/results.md): its holes start
    # open at 0.1, as the polygon-round generator's do, where an open hole's whole edge feels the discriminator's push
    "projected-placed-polygon-heavy-open": replace(PROJECTED_DEVIATION, generator="placed-polygon-round", hole_penalty=4.0),
    # the penalised trial's triangle kept a hole that cut it into a bow tie and its cross drew an irregular star (its
    # sample grids), which one frozen network let pass: the discriminator reads mobilenet too, an ensemble of frozen
    # CNNs as in Vision-aided GAN
    "projected-placed-polygon-ensemble": replace(
        PROJECTED_DEVIATION, generator="placed-polygon-round", hole_penalty=1.0, projection="resnet+mobilenet"
    ),
}
SHIFT_FRACTION = 1 / 8  # DiffAugment's translation: up to this share of the side, zero padded


@dataclass
class GANConfig:
    dataset: str
    conditional: bool = False
    seed: int = 0
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-4
    latent_dim: int = 64
    width: int = 64
    feature_model: str = ""
    gan_id: str = ""
    recipe: str = "dcgan"
    discriminator_width: int = 0  # 0: the same as width

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown GAN recipe {self.recipe!r}; known: {', '.join(RECIPES)}")
        if not self.gan_id:
            self.gan_id = f"{'cdcgan' if self.conditional else 'dcgan'}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.dataset)}"
        if not self.feature_model:
            self.feature_model = f"vgg-{self.dataset}"

    def command(self, out_dir: str | Path = USER_CHECKPOINT_DIR) -> str:
        """The ``train-gan`` command line that reproduces this run into ``out_dir``."""
        defaults = GANConfig(self.dataset, self.conditional)
        args = ["python", "-m", "xai_core", "train-gan", "--dataset", self.dataset, "--seed", str(self.seed), "--epochs", str(self.epochs)]
        if self.conditional:
            args.append("--conditional")
        options = {
            "batch_size": "--batch-size",
            "lr": "--lr",
            "latent_dim": "--latent-dim",
            "width": "--width",
            "feature_model": "--feature-model",
            "gan_id": "--id",
            "recipe": "--recipe",
            "discriminator_width": "--discriminator-width",
        }
        args += changed_option_arguments(self, defaults, options)
        return shlex.join(args + out_dir_arguments(out_dir))


def grid_labels(num_classes: int, count: int) -> torch.Tensor:
    """Labels 0, 1, ..., wrapping around: one column per class in a sample grid."""
    return torch.arange(count) % max(1, num_classes)


@torch.inference_mode()
def generate(generator: LatentGenerator, count: int, seed: int, labels: torch.Tensor | None = None, batch_size: int = 500) -> torch.Tensor:
    """``count`` seeded samples Tensor[count, C, S, S] in [0, 1] (eval mode) on the generator's device;
    conditional generators get ``labels`` (default: classes in turn)."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    latents = sample_latents(count, generator.latent_dim, seed).to(device)
    if generator.conditional:
        labels = (grid_labels(generator.num_classes, count) if labels is None else labels).to(device)
    chunks = [
        generator(latents[s : s + batch_size], None if labels is None else labels[s : s + batch_size]) for s in range(0, count, batch_size)
    ]
    generator.train(was_training)
    return torch.cat(chunks)


def save_sample_grid(images: torch.Tensor, path: Path, columns: int) -> None:
    """A PNG grid of images Tensor[N, C, H, W] in [0, 1]."""
    from torchvision.utils import save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, str(path), nrow=columns, padding=2, pad_value=0.5)


@torch.inference_mode()
def scoring_sets(generator: LatentGenerator, dataset: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """What :func:`score_generator` compares: (real test images Tensor[n, C, S, S], a seeded subset of n = test size, at
    most ``FID_SAMPLES``; the requested labels Tensor[n], classes in turn, None when unconditional; n generated
    samples Tensor[n, C, S, S], latent seed ``seed`` + 1)."""
    test = load_dataset(dataset, "test")
    count = min(len(test), FID_SAMPLES)
    reference = test.float_images(seeded_subset(len(test), count, seed))
    labels = grid_labels(generator.num_classes, count) if generator.conditional else None
    return reference, labels, generate(generator, count, seed + 1, labels)


@torch.inference_mode()
def score_generator(generator: LatentGenerator, dataset: str, feature_model: str, seed: int = 0) -> dict:
    """FID vs the test split (n = test size, at most ``FID_SAMPLES``) beside the real-vs-real baseline, and for
    conditional GANs the domain CNN's accuracy on generated samples of the conditioned class."""
    reference, labels, generated = scoring_sets(generator, dataset, seed)
    train = load_dataset(dataset, "train")
    card = load_model(feature_model)
    network = PenultimateFeatures(card)
    scores = fid_with_baseline(reference, train.float_images(), generated, network, feature_model, seed)
    metrics = {
        "fid": round(scores["generated"].fid, 3),
        "fid_real_vs_real": round(scores["real_vs_real"].fid, 3),
        "fid_n": len(reference),
        "fid_feature_network": f"{feature_model} penultimate ({network.num_features}-d)",
    }
    if generator.conditional:
        predictions = card.probabilities(generated).argmax(dim=1)
        metrics["class_accuracy"] = round(float((predictions == labels).float().mean()), 4)
    return metrics


def train_gan(
    config: GANConfig,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
    run_dir: str | Path | None = None,
    progress: bool = True,
    score: bool = True,
    device: str | torch.device = "cpu",
    resume: bool = True,
) -> dict:
    """Train one GAN on ``config.dataset``'s training split; write safetensors + manifest entry
    (section ``gans``) to ``out_dir`` and a sample grid per epoch plus ``history.json`` to ``run_dir``.
    Deterministic for a seed on CPU. Returns the manifest entry.

    Under ``torchrun`` every rank draws the same seeded batches, latents and labels and trains on its
    shard of each; rank 0 writes grids, history and the entry and returns it, the other ranks return {}.
    """
    run_dir = Path(run_dir) if run_dir is not None else RUN_DIR / f"{config.gan_id}-seed{config.seed}"
    with distributed_context(device) as world:
        entry = _train_gan(config, Path(out_dir), run_dir, progress and world.is_main, score, world, resume)
        world.barrier()
        return entry


def projection_models(config: GANConfig) -> tuple[str, ...]:
    """The zoo CNNs a projected recipe's discriminator reads (``<architecture>-<dataset>`` for each architecture of the
    recipe's ``projection``, joined by "+"), () for other recipes."""
    projection = RECIPES[config.recipe].projection
    return tuple(f"{architecture}-{config.dataset}" for architecture in projection.split("+")) if projection else ()


def frozen_taps(model_id: str, config: GANConfig, channels: int) -> FrozenTaps:
    """The frozen zoo CNN ``model_id``'s tapped blocks for a projected discriminator; refuses the judge
    (``config.feature_model``), a CNN that is not in the zoo, one without ``PROJECTION_TAPS`` and one of other channels."""
    if model_id == config.feature_model:
        raise ValueError(f"{model_id} judges the GAN (FID, class accuracy): pick another --feature-model than the projected one")
    try:
        card = load_model(model_id)
    except KeyError as error:
        architecture = model_id.removesuffix(f"-{config.dataset}")
        raise ValueError(
            f"the {config.recipe!r} recipe reads the frozen CNN {model_id}, which is not in the zoo: train it first "
            f"(python -m xai_core train-cnn --arch {architecture} --dataset {config.dataset})"
        ) from error
    if card.arch not in PROJECTION_TAPS:
        raise ValueError(f"{model_id} is a {card.arch!r} network; a projected discriminator reads {', '.join(PROJECTION_TAPS)}")
    if card.in_channels != channels:
        raise ValueError(f"{model_id} takes {card.in_channels}-channel images and cannot read this dataset's {channels}-channel ones")
    return FrozenTaps(card.model, PROJECTION_TAPS[card.arch], card.mean, card.std)


def build_discriminator(config: GANConfig, channels: int, image_size: int, num_classes: int) -> Discriminator:
    """The recipe's discriminator: DCGAN's, or a projected one on the frozen ``projection_models(config)``."""
    recipe = RECIPES[config.recipe]
    width = config.discriminator_width or config.width
    classifier = recipe.classifier_weight > 0 and num_classes > 0
    model_ids = projection_models(config)
    if not model_ids:
        return DCGANDiscriminator(channels, image_size, num_classes, width, classifier=classifier, deviation=recipe.deviation)
    backbones = [frozen_taps(model_id, config, channels) for model_id in model_ids]
    return ProjectedDiscriminator(
        backbones, image_size, num_classes, width, classifier, pixels=recipe.pixel_head, deviation=recipe.deviation
    )


def diff_augment(images: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
    """DiffAugment's colour and translation policy (Zhao et al., NeurIPS 2020), differentiable in ``images``.

    images Tensor[N, C, S, S] in [0, 1]; parameters Tensor[N, 5] uniform in [0, 1) (drawn by the caller, so that a
    seeded generator fixes them): brightness +-0.2, saturation x[0, 2), contrast x[0.5, 1.5), then a shift of up to
    S * SHIFT_FRACTION pixels in x and y with zero padding. Returns Tensor[N, C, S, S].
    """
    n, _, height, width = images.shape
    brightness, saturation, contrast, shift_x, shift_y = (parameters[:, i].view(n, 1, 1, 1).to(images) for i in range(5))
    images = images + (brightness - 0.5) * 0.4
    grey = images.mean(dim=1, keepdim=True)
    images = (images - grey) * (saturation * 2) + grey
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * (contrast + 0.5) + mean
    shift = max(1, round(height * SHIFT_FRACTION))
    padded = F.pad(images, (shift, shift, shift, shift))
    rows = torch.arange(height, device=images.device)[None, :] + (shift_y.view(n, 1) * (2 * shift + 1)).long()
    columns = torch.arange(width, device=images.device)[None, :] + (shift_x.view(n, 1) * (2 * shift + 1)).long()
    batch = torch.arange(n, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], columns[:, None, :]].permute(0, 3, 1, 2)


def discriminator_loss(loss: str, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    if loss == "hinge":
        return F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()
    return F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real)) + F.binary_cross_entropy_with_logits(
        logits_fake, torch.zeros_like(logits_fake)
    )


def generator_loss(loss: str, logits: torch.Tensor) -> torch.Tensor:
    if loss == "hinge":
        return -logits.mean()
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def draw_labels(num_classes: int, count: int, generator: torch.Generator, paired: bool = False) -> torch.Tensor:
    """Uniform class labels Tensor[count] for generated images; ``paired``: images (0, 1), (2, 3), ... share a label,
    so that :func:`mode_seeking_loss` compares two latents of one class."""
    if not paired:
        return torch.randint(0, num_classes, (count,), generator=generator)
    return torch.randint(0, num_classes, ((count + 1) // 2,), generator=generator).repeat_interleave(2)[:count]


def mode_seeking_loss(images: torch.Tensor, latents: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The mode-seeking term of MSGAN (Mao, Lee, Tseng, Ma & Yang, CVPR 2019, Eq. 3), to be minimised by the generator:
    1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps) over the pairs (0, 1), (2, 3), ... of images Tensor[N, C, H, W]
    and their latents Tensor[N, D]. It grows when different latents give the same image (mode collapse). Under
    ``torchrun`` each rank computes it on its own shard of the batch."""
    pairs = len(images) // 2 * 2
    if pairs == 0:
        raise ValueError("the mode-seeking term needs at least two images")
    image_distance = (images[0:pairs:2] - images[1:pairs:2]).abs().mean()
    latent_distance = (latents[0:pairs:2] - latents[1:pairs:2]).abs().mean()
    return 1 / (image_distance / latent_distance + eps)


@torch.no_grad()
def recalibrate_batchnorm(generator: LatentGenerator, seed: int, batches: int = 40, batch_size: int = 64) -> None:
    """Re-estimate every BatchNorm's running statistics in ``generator`` as the plain mean over ``batches`` seeded batches
    of latents (and uniformly drawn labels), leaving its weights and mode as they were.

    The EMA generator averages weights but copies the trained generator's statistics, which do not fit the averaged
    weights while they still move: on shapes, after 1,400 steps, FID 1,255 and class accuracy 12.6 % with the copied
    statistics, 183 and 58 % re-estimated (the Recipe's ``ema_decay``)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training, momenta = generator.training, [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    generator.train()
    device = next(generator.parameters()).device
    draws = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        latents = torch.randn(batch_size, generator.latent_dim, generator=draws).to(device)
        labels = torch.randint(0, generator.num_classes, (batch_size,), generator=draws).to(device) if generator.conditional else None
        generator(latents, labels)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    generator.train(was_training)


@torch.no_grad()
def update_average(average: torch.nn.Module, trained: torch.nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * trained, parameter by parameter; buffers (BatchNorm statistics) copied."""
    for kept, current in zip(average.parameters(), trained.parameters(), strict=True):
        kept.lerp_(current, 1 - decay)
    for kept, current in zip(average.buffers(), trained.buffers(), strict=True):
        kept.copy_(current)


def _train_gan(config: GANConfig, out_dir: Path, run_dir: Path, progress: bool, score: bool, world: Distributed, resume: bool) -> dict:
    """The body of :func:`train_gan`. Long: one seeded training loop (the order of random draws is the contract
    DDP, resuming and reproducibility rest on) and the manifest entry it writes read best in one place."""
    torch.manual_seed(config.seed)
    recipe = RECIPES[config.recipe]
    data = load_dataset(config.dataset, "train")
    side = data.image_size[0]
    if data.image_size[0] != data.image_size[1]:
        raise ValueError(f"{config.dataset}: a GAN needs square images, got {data.image_size}")
    if config.batch_size < world.world_size:
        raise ValueError(f"batch size {config.batch_size} is smaller than the {world.world_size} ranks: each rank needs an image per batch")
    num_classes = len(data.classes) if config.conditional else 0
    generator = build_generator(
        recipe.generator, latent_dim=config.latent_dim, channels=data.channels, image_size=side, num_classes=num_classes, width=config.width
    )
    discriminator = build_discriminator(config, data.channels, side, num_classes)
    generator.to(world.device)
    discriminator.to(world.device)
    averaged = copy.deepcopy(generator).requires_grad_(False) if recipe.ema_decay else generator
    # the generator's loss goes through the plain discriminator: only the discriminator step averages its gradients
    train_g, train_d = world.prepare(generator), world.prepare(discriminator)
    optimiser_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=recipe.betas)
    optimiser_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=recipe.betas)
    images, labels = data.float_images(), data.labels
    shuffler = torch.Generator().manual_seed(config.seed)
    networks = {"generator": generator, "discriminator": discriminator, "optimiser_g": optimiser_g, "optimiser_d": optimiser_d}
    if recipe.ema_decay:
        networks["averaged"] = averaged
    saved = load_run_state(run_dir, asdict(config), networks) if resume else None
    if saved:
        shuffler.set_state(saved["shuffler"])
    history = saved["history"] if saved else []
    classified = discriminator.classify is not None

    def judge(network: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | float]:
        """Real/fake logits, and the weighted AC-GAN cross-entropy against ``labels`` (0 without the classifier head)."""
        if not classified:
            return network(images, labels), 0.0
        logits, classes = network(images, labels, with_classes=True)
        return logits, recipe.classifier_weight * F.cross_entropy(classes, labels)

    def augmented(shard: torch.Tensor, batch_size: int) -> torch.Tensor:
        """DiffAugment on this rank's shard, its parameters drawn for the whole batch (every rank draws the same)."""
        if not recipe.augment:
            return shard
        return diff_augment(shard, world.shard(torch.rand(batch_size, 5, generator=shuffler)).to(world.device))

    grid_count = min(num_classes, 10) * 8 if num_classes else 64
    grid_columns = min(num_classes, 10) if num_classes else 8
    steps = len(images) // config.batch_size
    for epoch in range(len(history) + 1, config.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(len(images), generator=shuffler)
        totals = {"loss_g": 0.0, "loss_d": 0.0, "d_real": 0.0, "d_fake": 0.0}
        bar = tqdm(range(steps), desc=f"{config.gan_id} epoch {epoch}/{config.epochs}", disable=not progress, leave=False)
        for step in bar:
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            latents = torch.randn(len(batch), config.latent_dim, generator=shuffler)
            fake_labels = draw_labels(num_classes, len(batch), shuffler, paired=recipe.mode_seeking > 0) if num_classes else None
            shard = world.shard(batch)
            real = images[shard].to(world.device)
            real_labels = labels[shard].to(world.device) if num_classes else None
            fake_labels = world.shard(fake_labels).to(world.device) if num_classes else None
            shard_latents = world.shard(latents).to(world.device)
            fake = train_g(shard_latents, fake_labels)
            weight = world.shard_weight(len(shard), len(batch))
            logits_real, classifier_loss = judge(train_d, augmented(real, len(batch)), real_labels)
            logits_fake, _ = judge(train_d, augmented(fake.detach(), len(batch)), fake_labels)
            loss_d = weight * (discriminator_loss(recipe.loss, logits_real, logits_fake) + classifier_loss)
            optimiser_d.zero_grad(set_to_none=True)
            loss_d.backward()
            optimiser_d.step()
            logits_generated, classifier_loss = judge(discriminator, augmented(fake, len(batch)), fake_labels)
            loss_g = generator_loss(recipe.loss, logits_generated) + classifier_loss
            if recipe.mode_seeking:
                loss_g = loss_g + recipe.mode_seeking * mode_seeking_loss(fake, shard_latents)
            if recipe.hole_penalty:
                loss_g = loss_g + recipe.hole_penalty * generator.hole_shares(fake_labels).mean()
            loss_g = weight * loss_g
            optimiser_g.zero_grad(set_to_none=True)
            loss_g.backward()
            optimiser_g.step()
            if recipe.ema_decay:
                update_average(averaged, generator, recipe.ema_decay)
            values = {
                "loss_g": loss_g.item(),
                "loss_d": loss_d.item(),
                "d_real": torch.sigmoid(logits_real).mean().item(),
                "d_fake": torch.sigmoid(logits_fake).mean().item(),
            }
            for name, value in values.items():
                totals[name] += value
            bar.set_postfix(g=f"{values['loss_g']:.3f}", d=f"{values['loss_d']:.3f}")
        record = {
            "epoch": epoch,
            **{k: round(world.mean(v / max(1, steps)), 4) for k, v in totals.items()},
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(record)
        if not world.is_main:
            continue
        if recipe.ema_decay:
            recalibrate_batchnorm(averaged, config.seed)
        save_sample_grid(generate(averaged, grid_count, GRID_SEED), run_dir / "samples" / f"epoch_{epoch:03d}.png", grid_columns)
        (run_dir / "history.json").write_text(json.dumps(history, indent=2) + "\n")
        save_run_state(run_dir, asdict(config), history, networks, shuffler=shuffler.get_state())
        if progress:
            tqdm.write(
                f"{config.gan_id} epoch {epoch}: loss G {record['loss_g']:.3f}, loss D {record['loss_d']:.3f}, "
                f"D(real) {record['d_real']:.2f}, D(fake) {record['d_fake']:.2f} ({record['seconds']} s)"
            )
    if not world.is_main:
        return {}
    if recipe.ema_decay:  # again: a state saved by an earlier version may hold the copied statistics
        recalibrate_batchnorm(averaged, config.seed)
    averaged.cpu().eval()
    metrics = score_generator(averaged, config.dataset, config.feature_model, config.seed) if score else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{config.gan_id}.safetensors"
    sha256 = save_state_dict(averaged.state_dict(), out_dir / file_name)
    entry = {
        "id": config.gan_id,
        "kind": "cdcgan" if config.conditional else "dcgan",
        "dataset": config.dataset,
        "classes": list(data.classes),
        "architecture": averaged.config(),
        "seed": config.seed,
        "parameters": count_parameters(averaged),
        "file": file_name,
        "sha256": sha256,
        "metrics": {**metrics, "epochs_run": len(history), "n_train": len(images)},
        "history": history,
        "training": asdict(config),
        "command": config.command(out_dir),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    write_manifest_entry(out_dir, entry, section=MANIFEST_SECTION)
    return entry


# per dataset: the options of its two shipped GANs (mnist about 1,900 steps, glyphs 3,200, shapes 4,000). The shapes GANs
# need the projected recipe: every DCGAN and sngan run on shapes stayed at chance (docs/results.md, "The shapes GANs").
SHIPPED_GAN_OPTIONS = {
    "mnist": {"epochs": 30},
    "glyphs": {"epochs": 40},
    "shapes": {"epochs": 40, "batch_size": 32, "width": 16, "discriminator_width": 32, "recipe": "projected"},
}
# the conditional GAN's own options over its dataset's: the placed-polygon generator draws one outline per class, so it
# needs labels; heavy-open was the best of the shapes trials (docs/results.md, "The shapes GANs: what was tried").
SHIPPED_CONDITIONAL_OPTIONS = {"shapes": {"recipe": "projected-placed-polygon-heavy-open"}}
SHIPPED_GAN_DATASETS = tuple(SHIPPED_GAN_OPTIONS)


def shipped_gan_configs() -> list[GANConfig]:
    """The GANs committed under checkpoints/ (``reproduce-checkpoints --gans`` retrains them)."""
    return [
        GANConfig(dataset, conditional, seed=0, **{**options, **(SHIPPED_CONDITIONAL_OPTIONS.get(dataset, {}) if conditional else {})})
        for dataset, options in SHIPPED_GAN_OPTIONS.items()
        for conditional in (False, True)
    ]
