"""Shipped SFT-GAN generators as explainers (``lsft``, ``gsft``), and CGMA-ablation relevance.

Sources: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §3.2 (generators)
and §5.1 (relevance of CGMA k = sum over pixels |L(S) - L(S with CGMA k zeroed)|).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..attribution.base import Explainer
from ..attribution.layers import DEFAULT_ETA
from ..models.card import ModelCard
from ..models.checkpoints import ManifestSection, checkpoint_dirs
from .data import GENERATOR_MAX_SIDE, STRATEGIES, generator_inputs, resize_maps, working_size
from .networks import SFTGenerator

SYMBOL_DATASETS = (*STRATEGIES["symbols"], "glyphs_cjk", "torchvision-mnist", "torchvision-emnist")
PHOTO_MIN_SIDE = 112  # RGB models with inputs at least this large get the photos generators
GENERATORS = ManifestSection("generators", "SFT-GAN generator", "python -m xai_core train-sftgan --kind lsft --strategy objects")


def strategy_for(dataset: str | None) -> str:
    """``symbols`` for handwriting and glyph datasets, ``objects`` for everything else (more general)."""
    name = (dataset or "").partition(":")[0]
    return "symbols" if name in SYMBOL_DATASETS else "objects"


def list_generators() -> list[str]:
    """Ids of every generator in the manifests (``<kind>-<strategy>`` for the shipped ones)."""
    return GENERATORS.ids(checkpoint_dirs())


def generator_info(generator_id: str) -> dict:
    """The manifest entry of a generator (architecture, pairs, validation figures, command)."""
    return GENERATORS.info(generator_id, checkpoint_dirs())


@dataclass(frozen=True)
class GeneratorChoice:
    """The generator an SFT-GAN explainer of one model uses, and why (shown on the SFT-GAN page)."""

    generator_id: str
    reason: str
    val_dice: float | None
    max_side: int


def choose_generator(card: ModelCard, kind: str) -> GeneratorChoice:
    """The ``kind`` (lsft | gsft) generator for ``card``: one that learned from this model's maps first (its own,
    from ``train-sftgan --pairs``, before a strategy's; then the best held-out Dice); else ``<kind>-photos`` for RGB
    models of at least :data:`PHOTO_MIN_SIDE` px; else ``<kind>-symbols`` or ``<kind>-objects`` by its dataset."""
    known = list_generators()
    own = [g for g in known if (info := generator_info(g))["kind"] == kind and any(p["model"] == card.id for p in info["pairs"])]
    if own:  # generators that learned from this model: its own (--pairs) before a strategy's, then the best held-out Dice
        best = max(own, key=lambda g: (generator_info(g)["strategy"] == "pairs", generator_info(g)["metrics"]["val_dice"]))
        strategy = generator_info(best)["strategy"]
        return _choice(best, f"trained for {card.id}" if strategy == "pairs" else f"{strategy} strategy, trained on {card.id}'s maps")
    if card.in_channels == 3 and min(card.input_size) >= PHOTO_MIN_SIDE and f"{kind}-photos" in known:
        return _choice(f"{kind}-photos", f"photos strategy: {card.id} takes {card.input_size[0]}x{card.input_size[1]} RGB images")
    strategy = strategy_for(card.dataset)
    origin = f"{card.id} was trained on {card.dataset}" if card.dataset else f"{card.id} has no known training data"
    return _choice(f"{kind}-{strategy}", f"{strategy} strategy: {origin}")


def _choice(generator_id: str, reason: str) -> GeneratorChoice:
    try:
        info = generator_info(generator_id)
    except Exception:  # a missing generator is reported when the explainer loads it
        return GeneratorChoice(generator_id, reason, None, GENERATOR_MAX_SIDE)
    return GeneratorChoice(generator_id, reason, info["metrics"].get("val_dice"), info.get("max_side", GENERATOR_MAX_SIDE))


@lru_cache(maxsize=8)
def load_generator(generator_id: str) -> SFTGenerator:
    """Build the generator a manifest entry describes and load its sha256-checked weights (eval mode).

    Cached per process: generators are read-only at inference.
    """
    return GENERATORS.load_network(generator_id, checkpoint_dirs(), SFTGenerator, "an SFT generator", lambda generator: generator.kind)


class SFTGANExplainer(Explainer):
    """Explains a CNN with a trained SFT-GAN generator: one forward and backward pass of the CNN
    for its CGMAs, then one generator pass. Returns Tensor[N, 1, H, W] in [0, 1].

    Inputs larger than ``max_side`` are explained at a reduced working size (the generator's training
    size: 28-48 px for symbols/objects, 64 px for photos) and the map is upsampled back. ``generator_id``
    picks a generator by id (see :func:`choose_generator`); otherwise ``<kind>-<strategy>``.
    """

    family = "sftgan"
    kind = ""

    def __init__(
        self,
        model: torch.nn.Module,
        generator: SFTGenerator | None = None,
        strategy: str = "objects",
        eta: int = DEFAULT_ETA,
        max_side: int = GENERATOR_MAX_SIDE,
        generator_id: str | None = None,
    ):
        super().__init__(model)
        self.generator = generator if generator is not None else load_generator(generator_id or f"{self.kind}-{strategy}")
        self.eta, self.max_side = eta, max_side

    def conditioned_inputs(self, inputs: torch.Tensor, target=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(image Tensor[N,3,h,w], CGMAs Tensor[N,eta,h,w]) at the working size."""
        computed = generator_inputs(self.model, inputs, target, self.eta)
        size = working_size(tuple(inputs.shape[-2:]), self.max_side)
        return resize_maps(computed.image, size), resize_maps(computed.cgmas, size)

    @torch.inference_mode()
    def generate(self, image: torch.Tensor, cgmas: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return resize_maps(self.generator(image, cgmas), size).clamp_(0, 1)

    def attribute(self, inputs: torch.Tensor, target=None) -> torch.Tensor:
        image, cgmas = self.conditioned_inputs(inputs, target)
        return self.generate(image, cgmas, tuple(inputs.shape[-2:]))

    def passes(self, inputs: torch.Tensor) -> int:
        """A forward pass with a backward pass to every conv layer, then the generator: counted as 2."""
        return 2


class LSFT(SFTGANExplainer):
    name = "LSFT-GAN"
    kind = "lsft"


class GSFT(SFTGANExplainer):
    name = "GSFT-GAN"
    kind = "gsft"


@dataclass
class CGMARelevance:
    """CGMA-ablation analysis of one batch.

    maps: Tensor[N, 1, H, W] the generator's map L(S); blackout: Tensor[N, eta, H, W], map k is
    L(S with CGMA k zeroed); relevance: Tensor[N, eta], sum over pixels of |L(S) - blackout[k]|.
    """

    maps: torch.Tensor
    blackout: torch.Tensor
    relevance: torch.Tensor


@torch.inference_mode()
def cgma_relevance(generator: SFTGenerator, image: torch.Tensor, cgmas: torch.Tensor) -> CGMARelevance:
    """Relevance of each CGMA (Guna et al. §5.1), all eta ablations in one generator batch.

    image: Tensor[N, 3, H, W]; cgmas: Tensor[N, eta, H, W].
    """
    n, eta = cgmas.shape[:2]
    ablated = cgmas[:, None].repeat(1, eta + 1, 1, 1, 1)  # [N, eta+1, eta, H, W]; copy 0 stays intact
    for k in range(eta):
        ablated[:, k + 1, k] = 0
    outputs = generator(image[:, None].expand(-1, eta + 1, -1, -1, -1).flatten(0, 1), ablated.flatten(0, 1))
    outputs = outputs.view(n, eta + 1, *outputs.shape[-2:])
    maps, blackout = outputs[:, :1], outputs[:, 1:]
    return CGMARelevance(maps, blackout, (maps - blackout).abs().flatten(2).sum(dim=2))


def explain_relevance(explainer: SFTGANExplainer, inputs: torch.Tensor, target=None) -> CGMARelevance:
    """CGMA relevance for preprocessed CNN ``inputs`` Tensor[N, C, H, W] (maps at the working size)."""
    image, cgmas = explainer.conditioned_inputs(inputs, target)
    return cgma_relevance(explainer.generator, image, cgmas)


def average_relevance(
    explainer: SFTGANExplainer,
    preprocess: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    batch_size: int = 64,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CGMA relevance over ``images`` (float [N, C, H, W] in [0, 1]) of a dataset/model pair.

    Returns (mean Tensor[eta], per-image Tensor[N, eta]); ``on_progress`` gets the done fraction.
    """
    per_image = []
    for start in range(0, len(images), batch_size):
        per_image.append(explain_relevance(explainer, preprocess(images[start : start + batch_size])).relevance)
        if on_progress is not None:
            on_progress(min(1.0, (start + batch_size) / len(images)))
    values = torch.cat(per_image)
    return values.mean(dim=0), values
