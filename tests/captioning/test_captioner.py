"""The captioner: BLEU against torchmetrics, seeded training, the shipped checkpoint's captions, and input preparation."""

import random

import numpy as np
import pytest
import torch
from PIL import Image
from torchmetrics.functional.text import bleu_score

from xai_core.captioning import CaptionerConfig, caption_images, corpus_bleu, load_captioner, prepare_image, train_captioner
from xai_core.captioning.model import Captioner, encoder_state_from_classifier, zoo_encoder
from xai_core.captioning.training import build_captioner
from xai_core.data.captioning import VOCABULARY, load_captioning
from xai_core.models import load_model
from xai_core.models.checkpoints import read_manifest, sha256_of

REFERENCE = ["a", "red", "star", "left", "of", "a", "blue", "circle"]


def test_bleu_of_constructed_captions():
    assert corpus_bleu([REFERENCE], [REFERENCE]) == 1.0
    # one wrong word: precisions 7/8, 5/7, 3/6, 1/5 multiply to 1/16, whose fourth root is 0.5
    assert corpus_bleu([REFERENCE], [["a", "red", "star", "right", "of", "a", "blue", "circle"]]) == pytest.approx(0.5, abs=1e-12)
    # one word short over the corpus: brevity penalty exp(1 - 11/10), all precisions 1
    brief = corpus_bleu([REFERENCE, ["a", "blue", "circle"]], [REFERENCE, ["a", "blue"]])
    assert brief == pytest.approx(np.exp(-0.1), abs=1e-12)
    assert corpus_bleu([REFERENCE], [["star"]]) == 0.0
    with pytest.raises(ValueError, match="references"):
        corpus_bleu([REFERENCE], [])


def test_bleu_agrees_with_torchmetrics_on_random_captions():
    draw = random.Random(0)
    words = list(VOCABULARY[3:])
    references = [[draw.choice(words) for _ in range(draw.randint(3, 8))] for _ in range(40)]
    hypotheses = [[w if draw.random() < 0.7 else draw.choice(words) for w in ref][: draw.randint(2, len(ref))] for ref in references]
    peer = bleu_score([" ".join(h) for h in hypotheses], [[" ".join(r)] for r in references])
    assert corpus_bleu(references, hypotheses) == pytest.approx(float(peer), abs=1e-6)


def test_encoder_starts_from_the_zoo_classifier():
    card = load_model("resnet-shapes")
    captioner = build_captioner(CaptionerConfig(max_train=8))
    expected = encoder_state_from_classifier("resnet", card.model.state_dict())
    assert set(expected) == set(captioner.encoder.state_dict())
    assert all(torch.equal(captioner.encoder.state_dict()[k], v) for k, v in expected.items())
    assert captioner.mean.flatten().tolist() == pytest.approx(card.mean)
    for arch in ("vgg", "mobilenet"):
        encoder, channels = zoo_encoder(arch)
        assert encoder(torch.zeros(1, 3, 64, 64)).shape == (1, channels, 16, 16)
    with pytest.raises(ValueError, match="3-channel vgg"):
        build_captioner(CaptionerConfig(encoder="vgg", encoder_from="vgg-mnist"))


def test_seeded_short_training_lowers_the_loss_and_writes_a_checkpoint(tmp_path):
    config = CaptionerConfig(encoder_from="", epochs=3, batch_size=32, max_train=256, captioner_id="tiny-captioner")
    entry = train_captioner(config, out_dir=tmp_path, progress=False)
    losses = [epoch["train_loss"] for epoch in entry["history"]]
    assert losses[-1] < 0.8 * losses[0]
    assert entry["sha256"] == sha256_of(tmp_path / "tiny-captioner.safetensors")
    assert read_manifest(tmp_path, "captioners")[0]["id"] == "tiny-captioner"
    assert set(entry["metrics"]) >= {"bleu4", "exact_match", "test_loss", "n_test"} and entry["metrics"]["n_test"] == 500
    assert entry["command"].endswith(
        f"--encoder-from none --seed 0 --epochs 3 --batch-size 32 --lr 0.002 --max-train 256 --id tiny-captioner --out {tmp_path}"
    )


def test_shipped_captioner_captions_the_test_scenes():
    entry = read_manifest("checkpoints", "captioners")[0]
    assert entry["id"] == "captioner-resnet" and entry["metrics"]["exact_match"] >= 0.8
    data = load_captioning("test")
    generated = caption_images(load_captioner(), data.images[:50])
    exact = np.mean([words == caption.split() for words, caption in zip(generated, data.captions[:50])])
    assert exact >= 0.8
    assert corpus_bleu([c.split() for c in data.captions[:50]], generated) >= 0.8


def test_prepare_image_takes_any_mode_and_size():
    rgba = Image.new("RGBA", (120, 90), (255, 0, 0, 0))
    rgba.paste((0, 255, 0, 255), (0, 0, 60, 90))
    prepared = prepare_image(rgba)
    assert prepared.shape == (3, 64, 64) and prepared.dtype == torch.float32
    assert prepared[:, 32, 5].tolist() == [0.0, 1.0, 0.0]  # opaque green
    assert prepared[:, 32, 60].tolist() == [0.0, 0.0, 0.0]  # transparent red composited on black
    assert prepare_image(Image.new("L", (10, 10), 128)).unique().tolist() == [torch.tensor(128 / 255).item()]


def test_generate_stops_at_end_and_pads():
    torch.manual_seed(0)
    captioner = Captioner()
    with torch.no_grad():
        captioner.out.bias.fill_(-10)
        captioner.out.bias[VOCABULARY.index("<end>")] = 10
    tokens = captioner.eval().generate(torch.rand(2, 3, 64, 64))
    assert tokens.shape == (2, 1) and tokens.flatten().tolist() == [VOCABULARY.index("<end>")] * 2
    assert caption_images(captioner, torch.rand(2, 3, 64, 64)) == [[], []]
