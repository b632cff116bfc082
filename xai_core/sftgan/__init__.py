"""SFT-GANs: SFT layer, condition network, LSFT/GSFT generators, discriminator, training, relevance.

Guna, Benitez, Sikha, "Interpreting CNN Predictions using Conditional GANs" (§3.2, §4.1, §5).
"""

from .data import STRATEGIES, Pair, build_pair_shard, build_pairs, fit_cgmas, generator_image, generator_inputs, strategy_pairs
from .explainer import (
    GSFT,
    LSFT,
    CGMARelevance,
    GeneratorChoice,
    SFTGANExplainer,
    average_relevance,
    cgma_relevance,
    choose_generator,
    explain_relevance,
    generator_info,
    list_generators,
    load_generator,
    strategy_for,
)
from .networks import GENERATOR_KINDS, ConditionNetwork, PatchDiscriminator, SFTGenerator, SFTLayer, SFTResidualBlock
from .training import SFTGANConfig, shipped_generator_configs, train_sftgan

__all__ = [
    "CGMARelevance",
    "ConditionNetwork",
    "GENERATOR_KINDS",
    "GSFT",
    "LSFT",
    "PatchDiscriminator",
    "Pair",
    "SFTGANConfig",
    "SFTGANExplainer",
    "SFTGenerator",
    "SFTLayer",
    "SFTResidualBlock",
    "STRATEGIES",
    "GeneratorChoice",
    "average_relevance",
    "choose_generator",
    "build_pair_shard",
    "build_pairs",
    "cgma_relevance",
    "explain_relevance",
    "fit_cgmas",
    "generator_image",
    "generator_inputs",
    "generator_info",
    "list_generators",
    "load_generator",
    "shipped_generator_configs",
    "strategy_for",
    "strategy_pairs",
    "train_sftgan",
]
