"""Image captioning explained word by word (SFT-GAN paper §4.3.7, §6.2): the captioner, its training, and
per-word maps and figures."""

from .model import Captioner, captioner_info, list_captioners, load_captioner, prepare_image
from .training import CaptionerConfig, caption_images, corpus_bleu, evaluate_captioner, train_captioner
from .words import (
    CAPTION_METHODS,
    CaptionExplanation,
    WordScoreModel,
    intensity_on_objects,
    mass_on_object,
    word_cgmas,
    word_explanations,
    word_objects,
    word_role,
    word_table,
)

__all__ = [
    "Captioner",
    "captioner_info",
    "list_captioners",
    "load_captioner",
    "prepare_image",
    "CaptionerConfig",
    "caption_images",
    "corpus_bleu",
    "evaluate_captioner",
    "train_captioner",
    "CAPTION_METHODS",
    "CaptionExplanation",
    "WordScoreModel",
    "intensity_on_objects",
    "mass_on_object",
    "word_cgmas",
    "word_explanations",
    "word_objects",
    "word_role",
    "word_table",
]
