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
from ..models.checkpoints import ManifestSection, checkpoint_dirs
from .data import STRATEGIES, generator_inputs, resize_maps, working_size
from .networks import SFTGenerator

SYMBOL_DATASETS = (*STRATEGIES["symbols"], "glyphs_cjk", "torchvision-mnist", "torchvision-emnist")
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


@lru_cache(maxsize=8)
def load_generator(generator_id: str) -> SFTGenerator:
    """Build the generator a manifest entry describes and load its sha256-checked weights (eval mode).

    Cached per process: generators are read-only at inference.
    """
    return GENERATORS.load_network(generator_id, checkpoint_dirs(), SFTGenerator, "an SFT generator", lambda generator: generator.kind)


class SFTGANExplainer(Explainer):
    """Explains a CNN with a trained SFT-GAN generator: one forward and backward pass of the CNN
    for its CGMAs, then one generator pass. Returns Tensor[N, 1, H, W] in [0, 1].

    Inputs larger than ``max_side`` are explained at a reduced working size (the generators were
    trained on 28-48 px images) and the map is upsampled back.
    """

    family = "sftgan"
    kind = ""

    def __init__(
        self,
        model: torch.nn.Module,
        generator: SFTGenerator | None = None,
        strategy: str = "objects",
        eta: int = DEFAULT_ETA,
        max_side: int = 64,
    ):
        super().__init__(model)
        self.generator = generator if generator is not None else load_generator(f"{self.kind}-{strategy}")
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
