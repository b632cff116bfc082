"""An image captioner: a zoo CNN encoder and a recurrent decoder with soft attention over the encoder's
feature map ("Show, Attend and Tell", Xu et al., ICML 2015), small enough to train on a CPU.

The SFT-GAN paper (Guna et al. §4.3.7) interprets the CNN encoder of a captioning model word by word;
this model's encoder is any small-image architecture of the zoo with its classifier head removed, so
every explainer that works on the zoo's classifiers works on it unchanged (see ``words``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..data.captioning import MAX_TOKENS, SCENE_SIZE, VOCABULARY
from ..models.checkpoints import ManifestSection, checkpoint_dirs
from ..models.zoo import TRAINABLE_ARCHITECTURES, build_model

START, END, PAD = (VOCABULARY.index(token) for token in ("<start>", "<end>", "<pad>"))
CAPTIONERS = ManifestSection("captioners", "captioner", "python -m xai_core train-captioner")


def zoo_encoder(arch: str, in_channels: int = 3) -> tuple[nn.Module, int]:
    """The convolutional part of a zoo architecture and its output channels: Tensor[N, C, H, W] -> [N, D, H/4, W/4]."""
    if arch not in TRAINABLE_ARCHITECTURES:
        raise ValueError(f"the encoder must be one of {', '.join(TRAINABLE_ARCHITECTURES)}, got {arch!r}")
    classifier = build_model(arch, in_channels, 2)
    if arch == "vgg":
        return classifier.features, classifier.classifier[1].in_features // 16
    if arch == "resnet":
        return nn.Sequential(classifier.stem, classifier.layers), classifier.fc.in_features
    return classifier.features, classifier.classifier[-1].in_features


def encoder_state_from_classifier(arch: str, classifier_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder's part of a zoo classifier's state dict, renamed to ``zoo_encoder``'s keys."""
    if arch == "resnet":
        renamed = {"stem.": "0.", "layers.": "1."}
        return {
            renamed[prefix] + key[len(prefix) :]: value
            for key, value in classifier_state.items()
            for prefix in renamed
            if key.startswith(prefix)
        }
    return {key[len("features.") :]: value for key, value in classifier_state.items() if key.startswith("features.")}


class Captioner(nn.Module):
    """images float Tensor[N, 3, H, W] in [0, 1] + input tokens long Tensor[N, T] (<start>, w1, ...) ->
    next-word logits Tensor[N, T, V]: ``logits[:, t]`` predicts token t + 1 from the image and tokens 0..t.

    Decoder: a GRU cell whose input is the previous word's embedding and an attention-weighted sum of the
    encoder's feature vectors (each with its x/y coordinate appended, so "left of" can be read off).
    """

    def __init__(
        self,
        encoder_arch: str = "resnet",
        embedding: int = 32,
        hidden: int = 128,
        attention: int = 64,
        mean: tuple[float, ...] = (0.5, 0.5, 0.5),
        std: tuple[float, ...] = (0.5, 0.5, 0.5),
    ):
        super().__init__()
        self.encoder_arch = encoder_arch
        self.encoder, channels = zoo_encoder(encoder_arch)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        features = channels + 2
        self.embed = nn.Embedding(len(VOCABULARY), embedding, padding_idx=PAD)
        self.init_hidden = nn.Linear(features, hidden)
        self.attend_features = nn.Linear(features, attention)
        self.attend_hidden = nn.Linear(hidden, attention)
        self.attend_score = nn.Linear(attention, 1)
        self.cell = nn.GRUCell(embedding + features, hidden)
        self.out = nn.Linear(hidden + features, len(VOCABULARY))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images Tensor[N, 3, H, W] in [0, 1] -> feature vectors with coordinates Tensor[N, h*w, D + 2]."""
        maps = self.encoder((images - self.mean) / self.std)
        n, _, height, width = maps.shape
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, height, device=maps.device), torch.linspace(-1, 1, width, device=maps.device), indexing="ij"
        )
        coordinates = torch.stack([xs, ys])[None].expand(n, -1, -1, -1)
        return torch.cat([maps, coordinates], dim=1).flatten(2).transpose(1, 2)

    def decode(self, features: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features Tensor[N, P, D+2], tokens Tensor[N, T] -> (logits Tensor[N, T, V], attention Tensor[N, T, P])."""
        hidden = torch.tanh(self.init_hidden(features.mean(dim=1)))
        keys = self.attend_features(features)
        words = self.embed(tokens)
        logits, weights = [], []
        for step in range(tokens.shape[1]):
            scores = self.attend_score(torch.tanh(keys + self.attend_hidden(hidden)[:, None])).squeeze(2)
            alpha = scores.softmax(dim=1)
            context = (alpha[:, :, None] * features).sum(dim=1)
            hidden = self.cell(torch.cat([words[:, step], context], dim=1), hidden)
            logits.append(self.out(torch.cat([hidden, context], dim=1)))
            weights.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images), tokens)[0]

    @torch.inference_mode()
    def generate(self, images: torch.Tensor, max_tokens: int = MAX_TOKENS) -> torch.Tensor:
        """Greedy captions: long Tensor[N, L] of word ids after <start>, ending with <end> (then <pad>)."""
        features = self.encode(images)
        tokens = torch.full((images.shape[0], 1), START, dtype=torch.long, device=images.device)
        finished = torch.zeros(images.shape[0], dtype=torch.bool, device=images.device)
        for _ in range(max_tokens - 1):
            next_word = self.decode(features, tokens)[0][:, -1].argmax(dim=1)
            next_word = torch.where(finished, torch.full_like(next_word, PAD), next_word)
            tokens = torch.cat([tokens, next_word[:, None]], dim=1)
            finished |= next_word == END
            if finished.all():
                break
        return tokens[:, 1:]

    def architecture(self) -> dict:
        return {
            "encoder_arch": self.encoder_arch,
            "embedding": self.embed.embedding_dim,
            "hidden": self.cell.hidden_size,
            "attention": self.attend_score.in_features,
            "mean": self.mean.flatten().tolist(),
            "std": self.std.flatten().tolist(),
        }


def prepare_image(image: Image.Image, side: int = SCENE_SIZE) -> torch.Tensor:
    """Any PIL image (any mode and size) -> the captioner's input: float Tensor[3, side, side] in [0, 1]
    (RGB, alpha composited on black, resized with antialiasing; the scenes are square, so other shapes are stretched)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size)
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        image = background
    image = image.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()).float() / 255


def list_captioners() -> list[str]:
    """Ids of every captioner in the manifests (sorted)."""
    return CAPTIONERS.ids(checkpoint_dirs())


def captioner_info(captioner_id: str) -> dict:
    """The manifest entry of a captioner (architecture, BLEU-4 and exact match on the test scenes, command)."""
    return CAPTIONERS.info(captioner_id, checkpoint_dirs())


@lru_cache(maxsize=4)
def load_captioner(captioner_id: str = "captioner-resnet") -> Captioner:
    """The captioner a manifest entry describes, sha256-checked, in eval mode without parameter gradients."""
    return CAPTIONERS.load_network(captioner_id, checkpoint_dirs(), Captioner, "a captioner", "captioner")


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over non-pad targets: logits Tensor[N, T, V], targets Tensor[N, T]."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=PAD)
