"""GAN generators (DCGAN, upsampling, layered, placed) and discriminators (DCGAN, projected), unconditional or conditional; loading them.

Source: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
GANs" (ICLR 2016): a linear projection of the latent code to a small feature map, strided transposed
convolutions with BatchNorm + ReLU, Tanh output; a strided-convolution discriminator with LeakyReLU.
Two departures, both common practice: the discriminator uses spectral normalisation instead of
BatchNorm (stable short CPU runs), and the conditional variants feed a one-hot label to the
generator's first layer and use a projection discriminator (Miyato & Koyama, ICLR 2018).
The unified XAI framework paper (§3.3) explains such a generator through its latent space.
"""

from __future__ import annotations

import copy
import math
import warnings
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm
from torchvision.models.feature_extraction import create_feature_extractor

from ..data.synthetic import OBJECT_SATURATION, OBJECT_VALUE, SHAPE_RADIUS
from ..imaging import hsv_to_rgb
from ..models.checkpoints import ManifestSection, checkpoint_dirs

MANIFEST_SECTION = "gans"
GANS = ManifestSection(MANIFEST_SECTION, "GAN", "python -m xai_core train-gan --dataset mnist")


def upsampling_steps(image_size: int) -> int:
    """Number of 2x transposed-conv steps: 3 when the side is divisible by 8 (32 -> 4x4 start, 48 -> 6x6),
    else 2 (28 -> 7x7 start)."""
    if image_size % 8 == 0 and image_size >= 16:
        return 3
    if image_size % 4 == 0 and image_size >= 8:
        return 2
    raise ValueError(f"DCGAN image size must be a multiple of 4 (>= 8), got {image_size}")


class LatentGenerator(nn.Module, ABC):
    """z Tensor[N, latent_dim] (+ labels Tensor[N] when conditional) -> images Tensor[N, C, S, S] in [0, 1].

    ``project`` (a Linear on [z, one_hot(label)]) is the first layer; SeFa factorises its z columns. Subclasses
    build ``decode``: Tensor[N, start_channels, start_size, start_size] (+ labels) -> Tanh output in [-1, 1].
    """

    upsample: str  # the key of GENERATOR_ARCHITECTURES (and of a manifest architecture) naming the subclass

    def __init__(self, latent_dim: int, channels: int, image_size: int, num_classes: int, width: int):
        super().__init__()
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes, self.width = num_classes, width
        self.steps = upsampling_steps(image_size)
        self.start_size = image_size // 2**self.steps

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def config(self) -> dict:
        return {
            "latent_dim": self.latent_dim,
            "channels": self.channels,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            "width": self.width,
        }

    def latent_weight(self) -> torch.Tensor:
        """The first layer's weight restricted to the latent code: Tensor[out, latent_dim] (for SeFa)."""
        return self.project.weight[:, : self.latent_dim]

    def _labels(self, latents: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
        if not self.conditional:
            return None
        if labels is None:
            raise ValueError("this generator is class-conditional: pass labels")
        return torch.as_tensor(labels, device=latents.device).reshape(-1).expand(latents.shape[0]).long()

    def project_latents(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The first layer's output: Tensor[N, start_channels, start_size, start_size] (before normalisation)."""
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise ValueError(f"latents must be [N, {self.latent_dim}], got {tuple(latents.shape)}")
        labels = self._labels(latents, labels)
        inputs = latents if labels is None else torch.cat([latents, F.one_hot(labels, self.num_classes).to(latents.dtype)], dim=1)
        return self.project(inputs).view(-1, self.start_channels, self.start_size, self.start_size)

    @abstractmethod
    def first_features(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The first block's output (projection, normalisation, ReLU): Tensor[N, start_channels, start_size, start_size]."""

    @abstractmethod
    def decode(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        """Tensor[N, start_channels, start_size, start_size] (+ labels Tensor[N]) -> Tanh output Tensor[N, C, S, S].
        Only a generator that draws part of its image from a fixed prior reads the latents Tensor[N, latent_dim] here."""

    def forward(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (self.decode(self.project_latents(latents, labels), self._labels(latents, labels), latents) + 1) / 2


class DCGANGenerator(LatentGenerator):
    """Radford et al.'s generator: BatchNorm + ReLU, strided 4x4 transposed convolutions halving the width, Tanh."""

    upsample = "transposed"

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 32, num_classes: int = 0, width: int = 32):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        self.start_channels = width * 2 ** (self.steps - 1)
        self.project = nn.Linear(latent_dim + num_classes, self.start_channels * self.start_size**2)
        layers: list[nn.Module] = [nn.BatchNorm2d(self.start_channels), nn.ReLU(inplace=True)]
        current = self.start_channels
        for step in range(self.steps):
            last = step == self.steps - 1
            out = channels if last else current // 2
            layers.append(nn.ConvTranspose2d(current, out, 4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            current = out
        self.body = nn.Sequential(*layers)

    def first_features(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body[1](self.body[0](self.project_latents(latents, labels)))

    def decode(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        return self.body(projected)


class ClassBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (conditional BatchNorm, as in the generator of
    Miyato & Koyama's projection cGAN, ICLR 2018); a plain affine BatchNorm when ``num_classes`` is 0.
    x Tensor[N, C, H, W], labels Tensor[N] (or None) -> Tensor[N, C, H, W]."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=not num_classes)
        if num_classes:
            self.gain, self.shift = nn.Embedding(num_classes, channels), nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x = self.norm(x)
        if labels is None:
            return x
        return x * self.gain(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


class UpsamplingGenerator(LatentGenerator):
    """Nearest-neighbour 2x upsampling + 3x3 convolution at each step instead of transposed convolutions (no
    checkerboard artefacts; Odena, Dumoulin & Olah, Distill 2016), widths width * 2^steps ... width, class-conditional
    BatchNorm + ReLU after each, a 3x3 convolution to the image and Tanh."""

    upsample = "nearest"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        widths = [width * 2 ** (self.steps - step) for step in range(self.steps + 1)]
        self.start_channels = widths[0]
        self.project = nn.Linear(latent_dim + num_classes, self.start_channels * self.start_size**2)
        self.norms = nn.ModuleList(ClassBatchNorm2d(c, num_classes) for c in widths)
        self.convs = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, padding=1) for i in range(self.steps))
        self.to_image = nn.Conv2d(widths[-1], channels, 3, padding=1)

    def config(self) -> dict:
        return {**super().config(), "upsample": self.upsample}

    def first_features(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(self.norms[0](self.project_latents(latents, labels), self._labels(latents, labels)))

    def decode(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        features = F.relu(self.norms[0](projected, labels))
        for conv, norm in zip(self.convs, self.norms[1:], strict=True):
            features = F.relu(norm(conv(F.interpolate(features, scale_factor=2, mode="nearest")), labels))
        return torch.tanh(self.to_image(features))


def composite(mask: torch.Tensor, colour: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """mask * colour + (1 - mask) * background, each in [0, 1], mapped to the Tanh range [-1, 1]: Tensor[N, C, S, S]."""
    return 2 * (mask * colour + (1 - mask) * background) - 1


class LayeredGenerator(UpsamplingGenerator):
    """:class:`UpsamplingGenerator` whose image is composed of two layers (as in LR-GAN: Yang, Kannan, Batra & Parikh,
    ICLR 2017): a foreground of one colour, a linear read of the first layer's output (so of the latent and the
    label), over a smooth background, through a mask. Image = mask * colour + (1 - mask) * background. The mask (a
    sigmoid) comes from the last features; the background from the features after the first upsampling (a quarter of
    the side at 48 px), blown up bilinearly, so that it cannot draw sharp detail and every sharp edge is the mask's.
    A flat-coloured object on a cluttered background, as in ``shapes``, is then one mask."""

    upsample = "layered"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.to_image
        self.to_mask = nn.Conv2d(width, 1, 3, padding=1)
        self.to_background = nn.Conv2d(self.convs[0].out_channels, channels, 3, padding=1)
        self.to_colour = nn.Linear(self.start_channels * self.start_size**2, channels)
        # a colour logit of std about 1 at the start (the default init gives 0.3): the objects start in many colours
        nn.init.normal_(self.to_colour.weight, std=2 / self.to_colour.in_features**0.5)

    def layers(self, projected: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mask Tensor[N, 1, S, S], colour Tensor[N, C, 1, 1], background Tensor[N, C, S, S]), each in [0, 1]."""
        colour = torch.sigmoid(self.to_colour(projected.flatten(1)))[:, :, None, None]  # pooled features hardly vary with z
        features = F.relu(self.norms[0](projected, labels))
        background = None
        for conv, norm in zip(self.convs, self.norms[1:], strict=True):
            features = F.relu(norm(conv(F.interpolate(features, scale_factor=2, mode="nearest")), labels))
            if background is None:
                background = torch.sigmoid(self.to_background(features))
        background = F.interpolate(background, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return torch.sigmoid(self.to_mask(features)), colour, background

    def decode(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        return composite(*self.layers(projected, labels))


POSE_OUTPUTS = 5  # the pose read: rotation as (cos, sin) before normalising, log-scale, x shift, y shift
SCALE_RANGE = 0.25  # log-scale in +-0.25: radii x0.78 to x1.28, the span of ``shapes``' radii (0.2 to 0.32 of the side)
SHIFT_RANGE = 0.6  # centre within +-0.6 of the half side, about where ``shapes`` places its centres
TEMPLATE_GAIN = 64.0  # template logits = 64 x the parameter: Adam's steps of ~lr (2e-4) move a logit by ~0.013
EMPTY_LOGIT = -16.0  # the frame of a framed template: sigmoid(-16) ~ 1e-7, no mask
TEMPLATE_BANK = 8  # templates of an unconditional generator, mixed by a softmax read of the latent


class PlacedGenerator(LatentGenerator):
    """LR-GAN's foreground through a spatial transformer (Yang, Kannan, Batra & Parikh, ICLR 2017, §3; Jaderberg et al.,
    NeurIPS 2015): a learnt mask template per class, Tensor[K, 1, S, S], rotated, scaled and shifted by a pose read
    linearly from the first layer's output, filled with one colour (also a linear read) over a smooth background (one
    upsampling step, as :class:`LayeredGenerator`'s, blown up bilinearly). Image = mask * colour + (1 - mask) *
    background. The object's outline is a template, so it is sharp and the same for every latent of a class; the latent
    moves it, turns it, sizes it and colours it, which is all that varies between the objects of one ``shapes`` class.
    Unconditional, it mixes ``TEMPLATE_BANK`` templates by a softmax read of the latent."""

    upsample = "placed"
    template_reduction = 1  # the template's side is the image's divided by this
    framed = False  # True: the template is framed by an empty border, so that the image outside it has no mask
    margin = 0  # template pixels along each edge held empty (not learnt)

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        self.start_channels = width * 2**self.steps
        self.project = nn.Linear(latent_dim + num_classes, self.start_channels * self.start_size**2)
        self.norms = nn.ModuleList(ClassBatchNorm2d(c, num_classes) for c in (self.start_channels, self.start_channels // 2))
        self.background_conv = nn.Conv2d(self.start_channels, self.start_channels // 2, 3, padding=1)
        self.to_background = nn.Conv2d(self.start_channels // 2, channels, 3, padding=1)
        reads = self.start_channels * self.start_size**2
        self.to_colour = nn.Linear(reads, channels)
        self.to_pose = nn.Linear(reads, POSE_OUTPUTS)
        self.to_choice = None if num_classes else nn.Linear(reads, TEMPLATE_BANK)
        for read in (self.to_colour, self.to_pose):  # logits of std about 1 at the start: objects in many colours and places
            nn.init.normal_(read.weight, std=2 / reads**0.5)
        side = image_size // self.template_reduction
        self.templates = nn.Parameter(disc_template(num_classes or TEMPLATE_BANK, side) / TEMPLATE_GAIN)

    def config(self) -> dict:
        return {**super().config(), "upsample": self.upsample}

    def first_features(self, latents: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(self.norms[0](self.project_latents(latents, labels), self._labels(latents, labels)))

    def pose(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        """The affine map from image to template coordinates (``F.affine_grid``'s theta): Tensor[N, 2, 3]; here a
        linear read of the first layer's output."""
        cos_sin, log_scale, shift = self.to_pose(projected.flatten(1)).split([2, 1, 2], dim=1)
        scale = torch.exp(SCALE_RANGE * torch.tanh(log_scale))
        return affine_pose(F.normalize(cos_sin, dim=1, eps=1e-6), scale, SHIFT_RANGE * torch.tanh(shift))

    def mask(self, projected: torch.Tensor, labels: torch.Tensor | None, pose: torch.Tensor) -> torch.Tensor:
        """The template's sigmoid, placed by ``pose`` (Tensor[N, 2, 3]): Tensor[N, 1, S, S] in [0, 1]."""
        logits = TEMPLATE_GAIN * self.templates
        if self.margin:
            inner = logits[..., self.margin : -self.margin, self.margin : -self.margin]
            logits = F.pad(inner, (self.margin,) * 4, value=EMPTY_LOGIT)
        if self.framed:
            logits = F.pad(logits, (1, 1, 1, 1), value=EMPTY_LOGIT)
        if labels is not None:
            chosen = logits[labels]
        else:
            weights = torch.softmax(self.to_choice(projected.flatten(1)), dim=1)
            chosen = torch.einsum("nk,kchw->nchw", weights, logits)
        size = (projected.shape[0], 1, self.image_size, self.image_size)
        grid = F.affine_grid(pose, size, align_corners=False)
        return torch.sigmoid(F.grid_sample(chosen, grid, mode="bilinear", padding_mode="border", align_corners=False))

    def background(self, projected: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """One upsampling step of the first features, blown up bilinearly: Tensor[N, C, S, S] in [0, 1]."""
        features = F.relu(self.norms[0](projected, labels))
        features = F.relu(self.norms[1](self.background_conv(F.interpolate(features, scale_factor=2, mode="nearest")), labels))
        return F.interpolate(torch.sigmoid(self.to_background(features)), size=(self.image_size,) * 2, mode="bilinear", align_corners=False)

    def layers(
        self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mask Tensor[N, 1, S, S], colour Tensor[N, C, 1, 1], background Tensor[N, C, S, S]), each in [0, 1]."""
        mask = self.mask(projected, labels, self.pose(projected, labels, latents))
        return mask, self.object_colour(projected, latents)[:, :, None, None], self.background(projected, labels)

    def object_colour(self, projected: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """The object's colour Tensor[N, C] in [0, 1]: here read linearly from the first layer's output."""
        return self.colours(self.to_colour(projected.flatten(1)))

    def colours(self, read: torch.Tensor) -> torch.Tensor:
        """A colour read Tensor[N, R] -> colours Tensor[N, C] in [0, 1]: here one sigmoid per channel (R = C)."""
        return torch.sigmoid(read)

    def decode(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        return composite(*self.layers(projected, labels, latents))


def affine_pose(rotation: torch.Tensor, scale: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``F.affine_grid``'s theta Tensor[N, 2, 3] mapping image to template coordinates (both in [-1, 1] of the half
    side) for an object turned by ``rotation`` (cos, sin) Tensor[N, 2], scaled by Tensor[N, 1] and centred at
    Tensor[N, 2] (x, y): template = rotation^-1 (image - centre) / scale."""
    cos, sin = rotation[:, :1, None], rotation[:, 1:, None]
    inverse = torch.cat([torch.cat([cos, sin], dim=2), torch.cat([-sin, cos], dim=2)], dim=1) / scale[:, :, None]
    return torch.cat([inverse, -(inverse @ centre[:, :, None])], dim=2)


class CoarsePlacedGenerator(PlacedGenerator):
    """:class:`PlacedGenerator` with a template of half the image's side in an empty frame. In the 40-epoch shapes trial
    of the full-side template, ``grid_sample``'s border padding replicated the template's noisy edge into lines across
    the background wherever the shrunk template left the image uncovered, and three classes kept a disc with small
    marks inside (features the frozen CNN reads) instead of their outline. The frame leaves the image outside the
    template empty, and a template of 2 x 2 px cells draws coarser marks (docs/results.md, "The shapes GANs")."""

    upsample = "placed-coarse"
    template_reduction = 2
    framed = True


STRIPE_OUTPUTS = 6  # the stripe read after the base colour's channels: angle as (cos, sin), phase as (cos, sin), frequency, amplitude
STRIPE_FREQUENCIES = (1.0, 8.0)  # cycles per side
STRIPE_AMPLITUDE = 0.4  # the stripes scale the base colour by 1 +- at most this


class StripedPlacedGenerator(CoarsePlacedGenerator):
    """:class:`CoarsePlacedGenerator` over a background of one colour modulated by a plane wave, all read linearly from
    the first layer's output: base * (1 + a sin(2 pi f (x cos t + y sin t) + p)), x and y in [0, 1), f in 1 to 8 cycles
    per side, a in [0, 0.4]. In the coarse trial the background, drawn by convolutions at a quarter of the side, came
    out as blotches of many colours where ``shapes`` has one tinted colour with stripes, and faint dotted squares were
    drawn around the objects; here the background is one colour with stripes and the template's outer two pixels are
    held empty. The distractor lines and dots of ``shapes`` cannot be drawn: the flat-background yardstick
    of docs/results.md measures what losing the whole clutter costs."""

    upsample = "placed-striped"
    margin = 2

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.background_conv, self.to_background
        self.norms = self.norms[:1]
        self.to_stripes = nn.Linear(self.to_colour.in_features, channels + STRIPE_OUTPUTS)
        nn.init.normal_(self.to_stripes.weight, std=2 / self.to_stripes.in_features**0.5)

    def background(self, projected: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        colour_reads = self.to_stripes.out_features - STRIPE_OUTPUTS
        base, angle, phase, frequency, amplitude = self.to_stripes(projected.flatten(1)).split([colour_reads, 2, 2, 1, 1], dim=1)
        angle, phase = F.normalize(angle, dim=1, eps=1e-6), F.normalize(phase, dim=1, eps=1e-6)
        low, high = STRIPE_FREQUENCIES
        frequency = low + (high - low) * torch.sigmoid(frequency)
        axis = torch.arange(self.image_size, dtype=projected.dtype, device=projected.device) / self.image_size
        along = angle[:, 0, None, None] * axis[None, None, :] + angle[:, 1, None, None] * axis[None, :, None]  # [N, S, S]
        turn = 2 * torch.pi * frequency[:, :, None] * along
        wave = torch.sin(turn) * phase[:, 0, None, None] + torch.cos(turn) * phase[:, 1, None, None]  # sin(turn + p)
        stripes = 1 + STRIPE_AMPLITUDE * torch.sigmoid(amplitude)[:, :, None] * wave
        return (self.colours(base)[:, :, None, None] * stripes[:, None]).clamp(0, 1)


RADIAL_ANGLES = 64  # the outline's radius is learnt at this many evenly spaced angles, linearly interpolated between
RADIAL_GAIN = 8.0  # log radius = 8 x the parameter: Adam's steps of ~lr move it by ~0.2 % of the radius
START_RADIUS = 0.5  # of the half side: 12 px at 48 px, the middle of ``shapes``' radii (9.6 to 15.4 px)
HOLE_FLOOR = 0.2  # hole radius = radius x (sigmoid(logit) - 0.2): no hole below logit -1.4, so it can close entirely
START_HOLE_LOGIT = math.log(HOLE_FLOOR / (1 - HOLE_FLOOR))  # a hole of radius 0, on the edge of opening: its gradient is alive
EDGE_SHARPNESS = 4.0  # mask logit per pixel across the outline: the edge is about one pixel wide
HSV_READS = 4  # a colour read as hue (cos, sin), saturation and value


class RadialPlacedGenerator(StripedPlacedGenerator):
    """:class:`StripedPlacedGenerator` whose object is a solid star-shaped outline, not a template of free pixels: a learnt
    radius per angle (``RADIAL_ANGLES`` of them) and a hole of a learnt share of that radius, per class, turned,
    scaled and moved by the pose read. Every outline of ``shapes`` is star-shaped about its centre (the ring: a circle
    with a hole). In the striped trial the free templates kept translucent squares around the objects and marks
    inside them; a radial outline is one closed, fully opaque region, so it draws neither. Object and background
    colours are read as HSV (hue from a normalised (cos, sin) pair, saturation and value by sigmoids, all in their
    full range), where the per-channel sigmoids of the older generators came out grey (docs/results.md, "The shapes
    GANs")."""

    upsample = "placed-radial"
    start_hole_logit = START_HOLE_LOGIT
    hole_gain = RADIAL_GAIN  # the hole's logit is this x its parameter
    round_hole = False  # True: the hole is a circle of its share of the geometric-mean radius, not a shrunk outline

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.templates
        reads = self.to_colour.in_features
        self.to_colour = nn.Linear(reads, HSV_READS)
        self.to_stripes = nn.Linear(reads, HSV_READS + STRIPE_OUTPUTS)
        for read in (self.to_colour, self.to_stripes):
            nn.init.normal_(read.weight, std=2 / reads**0.5)
        outlines = num_classes or TEMPLATE_BANK
        self.radii = nn.Parameter(torch.full((outlines, RADIAL_ANGLES), math.log(START_RADIUS) / RADIAL_GAIN))
        self.holes = nn.Parameter(torch.full((outlines,), self.start_hole_logit / self.hole_gain))

    def colours(self, read: torch.Tensor) -> torch.Tensor:
        """An HSV read Tensor[N, 4] (hue cos, hue sin, saturation logit, value logit) -> RGB Tensor[N, 3] in [0, 1]; a
        one-channel generator paints the value alone: Tensor[N, 1]."""
        value = torch.sigmoid(read[:, 3])
        if self.channels == 1:
            return value[:, None]
        hue = torch.atan2(read[:, 1], read[:, 0]) / (2 * torch.pi)
        return hsv_to_rgb(hue, torch.sigmoid(read[:, 2]), value)

    def log_radii(self) -> torch.Tensor:
        """Every outline's log radius at each of the ``RADIAL_ANGLES`` angles: Tensor[outlines, RADIAL_ANGLES]."""
        return RADIAL_GAIN * self.radii

    def outline(self, projected: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log radius per angle Tensor[N, RADIAL_ANGLES], hole logit Tensor[N]) of each image's class, or, unconditional,
        of the ``TEMPLATE_BANK`` outlines mixed by the softmax read of the latent."""
        log_radii, holes = self.log_radii(), self.hole_gain * self.holes
        if labels is not None:
            return log_radii[labels], holes[labels]
        weights = torch.softmax(self.to_choice(projected.flatten(1)), dim=1)
        return weights @ log_radii, weights @ holes

    def mask(self, projected: torch.Tensor, labels: torch.Tensor | None, pose: torch.Tensor) -> torch.Tensor:
        """The outline placed by ``pose`` (Tensor[N, 2, 3]): Tensor[N, 1, S, S] in [0, 1], sigmoid(4 x the signed
        distance in pixels to the outline) times the same outside the hole."""
        log_radii, holes = self.outline(projected, labels)
        size = (projected.shape[0], 1, self.image_size, self.image_size)
        grid = F.affine_grid(pose, size, align_corners=False)  # template coordinates of every pixel: [N, S, S, 2]
        pixels_per_unit = self.image_size / 2 / torch.linalg.det(pose[:, :, :2]).abs().sqrt()  # half side x scale: [N]
        distance = torch.linalg.vector_norm(grid, dim=3)
        turn = (torch.atan2(grid[..., 1], grid[..., 0]) / (2 * torch.pi)) % 1.0 * RADIAL_ANGLES
        below = turn.floor().long().clamp(max=RADIAL_ANGLES - 1)
        share = turn - below
        radii = log_radii.exp()
        radius_below = torch.gather(radii, 1, below.flatten(1)).view_as(turn)
        radius_above = torch.gather(radii, 1, ((below + 1) % RADIAL_ANGLES).flatten(1)).view_as(turn)
        radius = (1 - share) * radius_below + share * radius_above
        hole = self.hole_radius(radius, log_radii) * (torch.sigmoid(holes)[:, None, None] - HOLE_FLOOR)
        scale = EDGE_SHARPNESS * pixels_per_unit[:, None, None]
        mask = torch.sigmoid(scale * (radius - distance)) * torch.sigmoid(scale * (distance - hole))
        return mask[:, None]

    def hole_shares(self, labels: torch.Tensor | None) -> torch.Tensor:
        """How far each hole is open, sigmoid(logit) - ``HOLE_FLOOR`` clipped at 0 (0: closed): Tensor[N] for the
        classes ``labels`` Tensor[N], or, unconditional, Tensor[TEMPLATE_BANK] for every outline of the bank."""
        holes = self.hole_gain * self.holes
        return (torch.sigmoid(holes if labels is None else holes[labels]) - HOLE_FLOOR).clamp(min=0)

    def hole_radius(self, radius: torch.Tensor, log_radii: torch.Tensor) -> torch.Tensor:
        """The radius a hole's share scales, Tensor[N, S, S], from each pixel's outline radius Tensor[N, S, S] and the
        log radii Tensor[N, RADIAL_ANGLES]: the outline's own (a shrunk copy of the outline), or with ``round_hole`` the
        outline's geometric-mean radius (a circle)."""
        if self.round_hole:
            return log_radii.mean(dim=1).exp()[:, None, None].expand_as(radius)
        return radius


SEGMENTS = 8  # clutter strokes a cluttered generator may draw; each has a presence read, so it learns how many
SEGMENT_READS = 4 + HSV_READS + 2  # per stroke: two end points (x, y), a colour, a half-width and a presence
HALF_WIDTHS = (0.5, 2.5)  # pixels: ``shapes`` draws lines 1 or 2 px wide and dots of radius 1 to 2.5 px


class ClutteredRadialGenerator(RadialPlacedGenerator):
    """:class:`RadialPlacedGenerator` whose striped background also carries ``SEGMENTS`` strokes under the object: round-
    capped segments (a dot is a short one) with end points anywhere in the image, a colour, a half-width of 0.5 to
    2.5 px and a presence in [0, 1], each a linear read of the first layer's output, painted one over the other.
    ``shapes`` draws 3 to 7 distractor lines and dots over its stripes, which the radial generator cannot draw: in its
    40-epoch trial the outlines grew thin spikes, line-like marks on the object itself (its sample grids)."""

    upsample = "placed-cluttered"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        reads = self.to_colour.in_features
        self.to_strokes = nn.Linear(reads, SEGMENTS * SEGMENT_READS)
        nn.init.normal_(self.to_strokes.weight, std=2 / reads**0.5)

    def strokes(self, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(coverage Tensor[N, SEGMENTS, S, S] in [0, 1], colours Tensor[N, SEGMENTS, C]) of the clutter strokes."""
        count = projected.shape[0]
        reads = self.to_strokes(projected.flatten(1)).view(count * SEGMENTS, SEGMENT_READS)
        ends, colour, half_width, presence = reads.split([4, HSV_READS, 1, 1], dim=1)
        start, end = ((torch.tanh(ends) + 1) / 2 * self.image_size).view(count * SEGMENTS, 2, 2).unbind(1)  # px: [NK, 2]
        axis = torch.arange(self.image_size, dtype=projected.dtype, device=projected.device) + 0.5
        pixels = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).view(1, -1, 2)  # (x, y) centres: [1, SS, 2]
        along, offset = end - start, pixels - start[:, None]
        reach = ((offset * along[:, None]).sum(2) / (along * along).sum(1, keepdim=True).clamp(min=1e-6)).clamp(0, 1)
        distance = torch.linalg.vector_norm(offset - reach[..., None] * along[:, None], dim=2)  # to the segment: [NK, SS]
        low, high = HALF_WIDTHS
        half_width = low + (high - low) * torch.sigmoid(half_width)
        coverage = torch.sigmoid(presence) * torch.sigmoid(EDGE_SHARPNESS * (half_width - distance))
        shape = (count, SEGMENTS, self.image_size, self.image_size)
        return coverage.view(shape), self.colours(colour).view(count, SEGMENTS, self.channels)

    def background(self, projected: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        background = super().background(projected, labels)
        coverage, colours = self.strokes(projected)
        for stroke in range(SEGMENTS):
            cover = coverage[:, stroke, None]
            background = cover * colours[:, stroke, :, None, None] + (1 - cover) * background
        return background


POSE_LATENTS = 4  # latent dimensions a prior-posed generator reads as its pose: x, y, size and angle
SIZE_PRIOR = tuple(2 * share / START_RADIUS for share in SHAPE_RADIUS)  # x0.8 to x1.28: ``shapes``' radii, of the half side


class PriorPosedGenerator(ClutteredRadialGenerator):
    """:class:`ClutteredRadialGenerator` whose pose is sampled from a fixed prior, not generated: the first
    ``POSE_LATENTS`` latent dimensions, each made uniform on [0, 1] by the normal CDF, give the object's angle (any),
    scale (``SIZE_PRIOR``) and centre, uniform on each axis over the positions where the scaled outline's farthest
    point stays a pixel inside the image: ``shapes``' own rule, centre in [r + 1, side - r - 1]. GIRAFFE likewise
    samples each object's scale, translation and rotation from a dataset-dependent distribution (Niemeyer & Geiger,
    CVPR 2021). Every learnt pose of the placed trials drove the shift read to its limit, so that the objects sat at
    or over the border, where ``shapes`` keeps every object whole (docs/results.md, "The shapes GANs"). The outline,
    colours, stripes and strokes are still learnt; the latent sliders on dimensions 0 to 3 move, scale and turn the
    object."""

    upsample = "placed-prior"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        if latent_dim < POSE_LATENTS:
            raise ValueError(f"a prior-posed generator reads its pose from {POSE_LATENTS} latent dimensions; got latent_dim={latent_dim}")
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.to_pose

    def pose(self, projected: torch.Tensor, labels: torch.Tensor | None, latents: torch.Tensor) -> torch.Tensor:
        """theta Tensor[N, 2, 3] from the uniform pose draws Phi(latents[:, :4]) = (x, y, size, angle)."""
        x_y, size, angle = torch.special.ndtr(latents[:, :POSE_LATENTS]).split([2, 1, 1], dim=1)
        low, high = SIZE_PRIOR
        scale = low + (high - low) * size
        turn = 2 * torch.pi * angle
        log_radii, _ = self.outline(projected, labels)
        reach = scale * log_radii.max(dim=1, keepdim=True).values.exp()  # the outline's farthest point, of the half side
        room = (1 - reach - 2 / self.image_size).clamp(min=0)
        return affine_pose(torch.cat([turn.cos(), turn.sin()], dim=1), scale, room * (2 * x_y - 1))


HARMONICS = 15  # a smooth outline's log radius is a Fourier series up to this harmonic: no feature narrower than 12 degrees
COLOUR_PRIOR = {"saturation": OBJECT_SATURATION, "value": OBJECT_VALUE}  # ``shapes``' object colours: any hue, these ranges
COLOUR_LATENTS = (POSE_LATENTS, POSE_LATENTS + 3)  # the latent dimensions a prior-coloured generator reads: hue, saturation, value


class SmoothPriorGenerator(PriorPosedGenerator):
    """:class:`PriorPosedGenerator` with a smooth outline and its object's colour sampled from a fixed prior. The log
    radius of each class's outline is a Fourier series in the angle up to the ``HARMONICS``-th harmonic (sampled at
    the ``RADIAL_ANGLES`` angles, as before), so it has no feature narrower than 360 / (2 x 15) = 12 degrees: the
    radial outlines of every earlier trial grew spikes one or two of their 5.6-degree steps wide (their sample grids),
    where the narrowest ``shapes`` feature, the star's tip, spans some 36 degrees at its base. The object's colour is
    drawn as ``shapes`` draws it: latent dimensions 4 to 6, made uniform by the normal CDF, give any hue and a
    saturation and value in ``COLOUR_PRIOR``'s ranges, where the learnt colour reads of the earlier trials painted
    objects darker or greyer than any real one (their sample grids). The outlines, the background's colour and stripes
    and the strokes are still learnt."""

    upsample = "placed-smooth"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        if latent_dim < COLOUR_LATENTS[1]:
            raise ValueError(
                f"a prior-coloured generator reads pose and colour from {COLOUR_LATENTS[1]} latent dimensions; got {latent_dim}"
            )
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.radii, self.to_colour
        self.harmonics = nn.Parameter(torch.zeros(num_classes or TEMPLATE_BANK, 2 * HARMONICS + 1))
        with torch.no_grad():
            self.harmonics[:, 0] = math.log(START_RADIUS) / RADIAL_GAIN

    def log_radii(self) -> torch.Tensor:
        """a_0 + sum_k a_k cos(k phi) + b_k sin(k phi) at the ``RADIAL_ANGLES`` angles phi: Tensor[outlines, RADIAL_ANGLES]."""
        angles = torch.arange(RADIAL_ANGLES, dtype=self.harmonics.dtype, device=self.harmonics.device) * (2 * torch.pi / RADIAL_ANGLES)
        orders = torch.arange(1, HARMONICS + 1, dtype=angles.dtype, device=angles.device)
        turns = angles[:, None] * orders[None, :]  # [RADIAL_ANGLES, HARMONICS]
        basis = torch.cat([torch.ones_like(angles)[:, None], turns.cos(), turns.sin()], dim=1)
        return RADIAL_GAIN * self.harmonics @ basis.T

    def object_colour(self, projected: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """HSV drawn from Phi(latents[:, 4:7]) = (hue, saturation share, value share) -> RGB Tensor[N, 3] (value alone,
        Tensor[N, 1], for one channel)."""
        hue, saturation, value = torch.special.ndtr(latents[:, slice(*COLOUR_LATENTS)]).unbind(1)
        (low_saturation, high_saturation), (low_value, high_value) = COLOUR_PRIOR["saturation"], COLOUR_PRIOR["value"]
        value = low_value + (high_value - low_value) * value
        if self.channels == 1:
            return value[:, None]
        return hsv_to_rgb(hue, low_saturation + (high_saturation - low_saturation) * saturation, value)


OPEN_HOLE_LOGIT = 0.0  # hole radius = radius x (sigmoid(0) - 0.2) = 0.3 of it; ``shapes``' ring has 0.55


class OpenHoleGenerator(SmoothPriorGenerator):
    """:class:`SmoothPriorGenerator` whose outlines all start as rings (a hole of 0.3 of the radius), which the classes
    without a hole close (the hole's floor lets it close entirely). A hole started at radius 0 gets its gradient from
    the few pixels round the object's centre alone, one started open from its whole edge: in the smooth trial the ring
    class never opened its hole and drew a many-armed star instead (its sample grids)."""

    upsample = "placed-open"
    start_hole_logit = OPEN_HOLE_LOGIT


ROUND_HOLE_LOGIT = math.log(0.3 / 0.7)  # hole radius = 0.1 of the outline's: open, so that its edge has a gradient
HOLE_GAIN = 32.0  # a round hole's logit = 32 x its parameter: Adam's steps of ~lr take it from 0.1 to 0.55 in ~300 steps
RADIUS_SPREAD = 2.5  # an outline's farthest point is at most this many times its nearest: ``shapes``' outlines span <= 2.25


class RoundHolePriorGenerator(SmoothPriorGenerator):
    """:class:`SmoothPriorGenerator` with two shape priors in its outlines. (1) The hole is a circle, a learnt share of
    the outline's geometric-mean radius, not a shrunk copy of the outline; it starts open at 0.1 of it and its share
    learns four times as fast as the radii. (2) The log radius is squashed about its mean, mean + b tanh((log r -
    mean) / b) with b = log(``RADIUS_SPREAD``) / 2, so that no outline's farthest point is more than 2.5 times its
    nearest: every ``shapes`` outline spans at most 2.25 (the cross; the star 2.22, the triangle 2). In the smooth
    trial the ring class drew a many-armed star whose hole, a shrunk copy of that star, vanished between the arms,
    and its share had reached only 0.16 of the radius by the last epoch (its weights); with the round, fast hole
    alone the ring opened its hole within five epochs but grew spokes 14 times as long as its nearest radius (at
    epoch 5 of a run stopped for it). The only hole in ``shapes`` is the ring's, a circle of 0.55 of its radius; any
    class closes its hole by pushing its share below the floor."""

    upsample = "placed-round"
    start_hole_logit = ROUND_HOLE_LOGIT
    hole_gain = HOLE_GAIN
    round_hole = True

    def log_radii(self) -> torch.Tensor:
        """The smooth outline's log radii squashed to a spread of at most log(``RADIUS_SPREAD``): Tensor[outlines, RADIAL_ANGLES]."""
        log_radii = super().log_radii()
        mean, bound = log_radii.mean(dim=1, keepdim=True), math.log(RADIUS_SPREAD) / 2
        return mean + bound * torch.tanh((log_radii - mean) / bound)


class RoundClosedHoleGenerator(RoundHolePriorGenerator):
    """:class:`RoundHolePriorGenerator` whose round, fast hole starts closed, at radius 0 on the edge of opening
    (``START_HOLE_LOGIT``), as :class:`PolygonClosedHoleGenerator`'s does, on the smooth outlines. Swapping one class's
    generated images for real ones (docs/results.md, "The shapes GANs: what was tried") finds one class behind most of
    each trial's FID: the ring, a many-armed star, in the smooth trial; the cross, an irregular star, in the
    polygon-closed trial, whose ring, with this hole, came out clean (their sample grids)."""

    upsample = "placed-round-closed"
    start_hole_logit = START_HOLE_LOGIT


CORNERS = 12  # a polygon outline's vertices: enough for every ``shapes`` outline (the cross has 12, the star 10)
CORNER_GAP = (0.25, 2.0)  # each gap between vertices, in units of 360 / CORNERS degrees before they are normalised; its
# logit is RADIAL_GAIN x the parameter, as the radii's, so that a vertex can move by a gap within a few hundred steps


class PolygonPriorGenerator(SmoothPriorGenerator):
    """:class:`SmoothPriorGenerator` whose outlines are polygons with straight edges: per class, ``CORNERS`` vertices,
    each a learnt angle gap and log radius, with the edge between two vertices drawn exactly in polar form,
    r(phi) = r_k r_k+1 sin(gap) / (r_k sin(phi - theta_k) + r_k+1 sin(theta_k+1 - phi)), at the ``RADIAL_ANGLES``
    angles. Every ``shapes`` outline but the circle and ring is a polygon of at most 12 vertices (a 12-gon is within
    3.5 % of a circle's radius), where the smooth trial's Fourier outlines came out ragged: a spiky triangle, diamond
    and cross, a many-armed ring (its sample grid). Gaps stay below 152 degrees, so each edge sees the centre from the
    inside and the outline stays star-shaped. The generator starts as a regular 12-gon."""

    upsample = "placed-polygon"

    def __init__(self, latent_dim: int = 64, channels: int = 3, image_size: int = 48, num_classes: int = 0, width: int = 16):
        super().__init__(latent_dim, channels, image_size, num_classes, width)
        del self.harmonics
        outlines = num_classes or TEMPLATE_BANK
        self.corner_radii = nn.Parameter(torch.full((outlines, CORNERS), math.log(START_RADIUS) / RADIAL_GAIN))
        self.corner_gaps = nn.Parameter(torch.zeros(outlines, CORNERS))

    def corners(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(vertex angles from 0, Tensor[outlines, CORNERS + 1] ending at 2 pi; vertex radii Tensor[outlines, CORNERS])."""
        low, high = CORNER_GAP
        gaps = low + (high - low) * torch.sigmoid(RADIAL_GAIN * self.corner_gaps)
        gaps = 2 * torch.pi * gaps / gaps.sum(dim=1, keepdim=True)
        angles = torch.cat([torch.zeros_like(gaps[:, :1]), gaps.cumsum(dim=1)], dim=1)
        return angles, (RADIAL_GAIN * self.corner_radii).exp()

    def log_radii(self) -> torch.Tensor:
        """The log radius of each polygon at the ``RADIAL_ANGLES`` angles phi: Tensor[outlines, RADIAL_ANGLES]."""
        angles, radii = self.corners()
        phi = torch.arange(RADIAL_ANGLES, dtype=angles.dtype, device=angles.device) * (2 * torch.pi / RADIAL_ANGLES)
        phi = phi.expand(len(angles), RADIAL_ANGLES).contiguous()
        edge = (torch.searchsorted(angles[:, 1:].detach().contiguous(), phi, right=True)).clamp(max=CORNERS - 1)
        start, end = angles.gather(1, edge), angles.gather(1, edge + 1)
        near, far = radii.gather(1, edge), radii.gather(1, (edge + 1) % CORNERS)
        radius = near * far * torch.sin(end - start) / (near * torch.sin(phi - start) + far * torch.sin(end - phi))
        return radius.log()


class PolygonRoundHoleGenerator(PolygonPriorGenerator):
    """:class:`PolygonPriorGenerator` with :class:`RoundHolePriorGenerator`'s hole: a circle of a learnt share of the
    outline's geometric-mean radius, open at 0.1 of it, its share learnt at ``HOLE_GAIN``; the polygons' spread is not
    bounded. In the polygon trial every class but the ring came out clean (its sample grids), and the ring class, whose
    hole was the smooth generator's (a shrunk copy of the outline, closed at the start), drew a three- or four-armed
    propeller."""

    upsample = "placed-polygon-round"
    start_hole_logit = ROUND_HOLE_LOGIT
    hole_gain = HOLE_GAIN
    round_hole = True


class PolygonClosedHoleGenerator(PolygonRoundHoleGenerator):
    """:class:`PolygonRoundHoleGenerator` whose round, fast hole starts closed, at radius 0 on the edge of opening
    (``START_HOLE_LOGIT``), as the polygon generator's did: in the polygon trial the triangle and the cross came out
    clean, and in the polygon-round trial, whose every hole started open at 0.1, the triangle class kept the hole it
    started with and the cross drew an irregular star (their sample grids)."""

    upsample = "placed-polygon-closed"
    start_hole_logit = START_HOLE_LOGIT


def disc_template(count: int, size: int, radius: float = 0.55, bound: float = 4.0) -> torch.Tensor:
    """Mask logits Tensor[count, 1, size, size] of a centred disc of ``radius`` (of the half side): the placed
    generator's first guess of every class's outline. The logit falls by 2 per pixel across the edge and is clipped
    to +-``bound``, so the edge is sharp and every pixel can cross it within a few hundred steps."""
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    distance = torch.hypot(axis[None, :], axis[:, None])
    return (size * (radius - distance)).clamp(-bound, bound).expand(count, 1, size, size).clone()


GENERATOR_ARCHITECTURES = {
    generator.upsample: generator
    for generator in (
        DCGANGenerator,
        UpsamplingGenerator,
        LayeredGenerator,
        PlacedGenerator,
        CoarsePlacedGenerator,
        StripedPlacedGenerator,
        RadialPlacedGenerator,
        ClutteredRadialGenerator,
        PriorPosedGenerator,
        SmoothPriorGenerator,
        OpenHoleGenerator,
        RoundHolePriorGenerator,
        RoundClosedHoleGenerator,
        PolygonPriorGenerator,
        PolygonRoundHoleGenerator,
        PolygonClosedHoleGenerator,
    )
}


def build_generator(upsample: str = "transposed", **architecture) -> LatentGenerator:
    """The generator a manifest ``architecture`` describes (entries without ``upsample`` are DCGANs)."""
    if upsample not in GENERATOR_ARCHITECTURES:
        raise ValueError(f"unknown generator upsampling {upsample!r}; known: {', '.join(GENERATOR_ARCHITECTURES)}")
    return GENERATOR_ARCHITECTURES[upsample](**architecture)


DEVIATION_GROUP = 4  # images per group of the minibatch-deviation feature, as in Karras et al.'s code


def group_deviation(features: torch.Tensor, group: int = DEVIATION_GROUP) -> torch.Tensor:
    """Minibatch standard deviation (Karras, Aila, Laine & Lehtinen, ICLR 2018, §3): features Tensor[N, F] -> Tensor[N, F],
    each image's row the population std of every feature over its group of ``group`` consecutive images (the last group
    may be smaller; a group of one scores 0). A generator that gives one image whatever the latent scores 0, so a
    discriminator that reads it can tell a collapsed batch from a real one. Groups never cross a DDP shard whose size
    is a multiple of ``group``, so W ranks compute what one process computes."""
    rows = [chunk.std(dim=0, correction=0).expand_as(chunk) for chunk in features.split(group)]
    return torch.cat(rows)


class Discriminator(nn.Module, ABC):
    """images Tensor[N, C, S, S] in [0, 1] (+ labels) -> real/fake logits Tensor[N].

    A subclass turns images into features Tensor[N, F]; this class adds a linear head and, when conditional, a
    projection term <embed(label), features> (Miyato & Koyama, ICLR 2018). With ``classifier`` it also has an AC-GAN
    head (Odena, Olah & Shlens, ICML 2017): ``forward(..., with_classes=True)`` returns (logits, class logits Tensor[N, K]).
    With ``deviation`` a further linear head reads :func:`group_deviation` of the features.
    """

    def _add_heads(self, features: int, num_classes: int, classifier: bool, deviation: bool) -> None:
        if classifier and not num_classes:
            raise ValueError("an auxiliary classifier needs a class-conditional discriminator")
        self.head = spectral_norm(nn.Linear(features, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, features)) if num_classes else None
        self.classify = spectral_norm(nn.Linear(features, num_classes)) if classifier else None
        self.deviation_head = spectral_norm(nn.Linear(features, 1, bias=False)) if deviation else None

    @abstractmethod
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """images Tensor[N, C, S, S] in [0, 1] -> features Tensor[N, F]."""

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, with_classes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.features(images)
        logits = self.head(features).squeeze(1)
        if self.deviation_head is not None:
            logits = logits + self.deviation_head(group_deviation(features)).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            logits = logits + (self.embed(labels) * features).sum(dim=1)
        if not with_classes:
            return logits
        if self.classify is None:
            raise ValueError("this discriminator has no auxiliary classifier")
        return logits, self.classify(features)


class DCGANDiscriminator(Discriminator):
    """Three spectral-normalised stride-2 convolutions with LeakyReLU(0.2), flattened (Radford et al.)."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        num_classes: int = 0,
        width: int = 32,
        classifier: bool = False,
        deviation: bool = False,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        current = channels
        for out in (width, width * 2, width * 4):
            layers += [spectral_norm(nn.Conv2d(current, out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True)]
            current = out
        self.body = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            features = self.body(torch.zeros(1, channels, image_size, image_size)).shape[1]
        self._add_heads(features, num_classes, classifier, deviation)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images * 2 - 1)


# zoo architecture -> the blocks a projected discriminator reads: resnet's at the full, half and quarter side, MobileNetV2's
# (a stride-2 stem) at the half, half and quarter side
PROJECTION_TAPS = {"resnet": ("layers.0", "layers.1", "layers.2"), "mobilenet": ("features.1", "features.3", "features.9")}


class FrozenTaps(nn.Module):
    """A frozen, pretrained CNN's blocks ``taps`` on images in [0, 1] normalised by its ``mean`` and ``std``: the
    input of a projected discriminator's heads. BatchNorm stays in eval mode and no gradient reaches the weights;
    gradients still flow to the images. The caller's ``network`` is copied, never changed."""

    def __init__(self, network: nn.Module, taps: tuple[str, ...], mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*subsequence of those obtained in train mode")
            self.network = create_feature_extractor(copy.deepcopy(network).eval(), list(taps)).requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenTaps:
        super().train(mode)
        self.network.eval()
        return self

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """images Tensor[N, C, S, S] in [0, 1] -> each tapped block's output Tensor[N, C_i, S_i, S_i]."""
        return list(self.network(self.normalise(images)).values())


class ProjectedDiscriminator(Discriminator):
    """A discriminator on the multi-scale features of frozen, pretrained CNNs (Projected GANs: Sauer, Chitta, Müller &
    Geiger, NeurIPS 2021), which converge in a fraction of the steps on small datasets. Several CNNs make an
    ensemble, as in Vision-aided GAN (Kumari, Zhang, Shechtman & Zhu, CVPR 2022): a generated image must pass the
    features of every one of them, so one network's blind spot is not enough.

    Each tapped block of each of ``backbones`` (:class:`FrozenTaps`) feeds a trainable head of two spectral-normalised
    3x3 convolutions with LeakyReLU(0.2), averaged over space. With ``pixels`` the images themselves, normalised as
    the first backbone normalises them, feed one more head, two spectral-normalised stride-2 4x4 convolutions: it sees
    what the frozen CNNs were trained to ignore, such as colour. Features Tensor[N, 2 * width * (taps + pixels)].
    """

    def __init__(
        self,
        backbones: list[FrozenTaps],
        image_size: int,
        num_classes: int = 0,
        width: int = 32,
        classifier: bool = False,
        pixels: bool = False,
        deviation: bool = False,
    ):
        super().__init__()
        self.backbones = nn.ModuleList(backbones)
        channels = backbones[0].mean.shape[1]
        with torch.no_grad():
            tapped = [tap for backbone in backbones for tap in backbone(torch.zeros(1, channels, image_size, image_size))]
        self.heads = nn.ModuleList(
            nn.Sequential(
                spectral_norm(nn.Conv2d(tap.shape[1], width, 3, padding=1)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(width, 2 * width, 3, padding=1)),
                nn.LeakyReLU(0.2),
            )
            for tap in tapped
        )
        self.pixel_head = (
            nn.Sequential(
                spectral_norm(nn.Conv2d(channels, width, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2),
            )
            if pixels
            else None
        )
        self._add_heads(2 * width * (len(self.heads) + pixels), num_classes, classifier, deviation)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        heads, inputs = list(self.heads), [tap for backbone in self.backbones for tap in backbone(images)]
        if self.pixel_head is not None:
            heads.append(self.pixel_head)
            inputs.append(self.backbones[0].normalise(images))
        return torch.cat([head(tap).mean(dim=(2, 3)) for head, tap in zip(heads, inputs, strict=True)], dim=1)


def sample_latents(count: int, latent_dim: int, seed: int) -> torch.Tensor:
    """Seeded standard-normal latent codes Tensor[count, latent_dim] (the same on every machine)."""
    return torch.randn(count, latent_dim, generator=torch.Generator().manual_seed(seed))


def list_gans(dataset: str | None = None) -> list[str]:
    """Ids of every DCGAN in the manifests (``dcgan-<dataset>`` / ``cdcgan-<dataset>`` for shipped ones)."""
    return sorted(i for i, (_, e) in GANS.entries(checkpoint_dirs()).items() if dataset is None or e["dataset"] == dataset)


def gan_info(gan_id: str) -> dict:
    """The manifest entry of a GAN (architecture, dataset, seed, FID, command)."""
    return GANS.info(gan_id, checkpoint_dirs())


FAILED_FID_RATIO = 100.0


def quality_warning(info: dict) -> str | None:
    """A plain-language warning when a GAN's recorded metrics (its manifest entry) say it failed: a conditional GAN
    whose samples the domain CNN recognises as the requested class at most twice as often as chance, or an FID
    more than FAILED_FID_RATIO times the real-vs-real baseline. None when neither holds (or nothing was measured)."""
    metrics = info.get("metrics", {})
    chance = 1 / max(1, len(info.get("classes", [])))
    if "class_accuracy" in metrics and metrics["class_accuracy"] <= 2 * chance:
        return (
            f"{info['id']} has not learnt its classes: the domain CNN recognises {metrics['class_accuracy']:.1%} of its samples "
            f"as the requested class (chance {chance:.1%}). Its latent explanations describe a failed generator."
        )
    if "fid" in metrics and metrics["fid"] > FAILED_FID_RATIO * metrics.get("fid_real_vs_real", float("inf")):
        return (
            f"{info['id']}'s FID is {metrics['fid'] / metrics['fid_real_vs_real']:.0f}x the real-vs-real baseline: its samples are "
            "far from the data, and its latent explanations describe a failed generator."
        )
    return None


@lru_cache(maxsize=8)
def load_gan(gan_id: str) -> LatentGenerator:
    """The generator a manifest entry describes, with its sha256-checked weights, in eval mode
    (cached per process; generators are read-only at inference)."""
    return load_gan_in(checkpoint_dirs(), gan_id)


def load_gan_in(directories: list[Path], gan_id: str) -> LatentGenerator:
    """:func:`load_gan` from the manifests of ``directories`` (a ``train-gan --out`` folder), not cached."""
    return GANS.load_network(gan_id, list(directories), build_generator, "a GAN generator", "GAN generator")
