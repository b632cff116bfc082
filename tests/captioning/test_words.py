"""Per-word explanations: each word's score alone reaches the encoder, maps equal hand-computed ones, word -> object
resolution, the per-word figures on constructed maps, and the results section's bookkeeping."""

import pytest
import torch

from xai_core.attribution.cam import GradCAM
from xai_core.attribution.layers import layer_gradcams
from xai_core.captioning import (
    CAPTION_METHODS,
    WordScoreModel,
    intensity_on_objects,
    mass_on_object,
    word_cgmas,
    word_explanations,
    word_objects,
    word_role,
    word_table,
)
from xai_core.captioning.model import Captioner
from xai_core.captioning.results import (
    SUMMARY_NAME,
    captioning_section,
    render_captioning_markdown,
    run_captioning_results,
    summarise_seed,
    word_group,
)
from xai_core.data.captioning import NO_OBJECT, encode, make_scene
from xai_core.reports.summaries import write_json_summary

CAPTION = ["a", "yellow", "star", "left", "of", "a", "red", "circle"]


@pytest.fixture(scope="module")
def random_captioner():
    torch.manual_seed(0)
    return Captioner().eval()


def test_word_score_is_that_steps_logits_and_nothing_later(random_captioner):
    image = make_scene("test", 0).image.float()[None] / 255
    ids = torch.tensor(encode(CAPTION))[None]
    full = random_captioner(image, ids[:, :-1])
    for step in (0, 3, 7):
        model = WordScoreModel(random_captioner, ids[:, :-1], torch.tensor([step]))
        assert torch.allclose(model(image), full[:, step], atol=1e-6)
        # a different future caption changes nothing about this word's score or its gradient
        changed = ids[:, :-1].clone()
        changed[:, step + 1 :] = encode(["green"])[1]
        inputs = image.clone().requires_grad_(True)
        gradient = torch.autograd.grad(
            WordScoreModel(random_captioner, changed, torch.tensor([step]))(inputs)[0, ids[0, step + 1]], inputs
        )[0]
        inputs_full = image.clone().requires_grad_(True)
        expected = torch.autograd.grad(random_captioner(inputs_full, ids[:, :-1])[0, step, ids[0, step + 1]], inputs_full)[0]
        assert torch.allclose(gradient, expected, atol=1e-6)


def test_word_maps_equal_grad_cams_computed_one_word_at_a_time(random_captioner):
    scene = make_scene("test", 0)
    image = scene.image.float() / 255
    explanation = word_explanations(random_captioner, image, CAPTION, methods=("grad_cam", "saliency"))
    ids = torch.tensor(encode(CAPTION))
    for step in range(len(CAPTION)):
        alone = WordScoreModel(random_captioner, ids[None, : step + 1], torch.tensor([step]))
        expected = GradCAM(alone).attribute(image[None], ids[step + 1 : step + 2])
        assert torch.allclose(explanation.maps["grad_cam"][step : step + 1], expected, atol=1e-5)
        # the last conv layer of the encoder-wide Grad-CAMs (the CGMAs' input) agrees with the CAM explainer
        assert torch.allclose(layer_gradcams(alone, image[None], ids[step + 1 : step + 2]).maps[:, -1:], expected, atol=1e-5)
    assert not torch.allclose(explanation.maps["saliency"][1], explanation.maps["saliency"][6])
    logits = random_captioner(image[None], ids[None, :-1])[0].softmax(dim=1)
    assert torch.allclose(explanation.probabilities, logits[torch.arange(8), ids[1:9]], atol=1e-6)


def test_every_method_gives_one_map_per_word(random_captioner):
    explanation = word_explanations(random_captioner, torch.rand(3, 64, 64), ["a", "red", "star"])
    assert set(explanation.maps) == set(CAPTION_METHODS)
    for maps in explanation.maps.values():
        assert maps.shape == (3, 1, 64, 64) and float(maps.min()) >= 0 and float(maps.max()) <= 1
    with pytest.raises(KeyError, match="unknown captioning method"):
        word_explanations(random_captioner, torch.rand(3, 64, 64), ["a"], methods=("score_cam",))
    with pytest.raises(ValueError, match="no words"):
        word_explanations(random_captioner, torch.rand(3, 64, 64), [])


def test_words_resolve_to_the_objects_they_name():
    objects = (("yellow", "star", None), ("red", "circle", None))
    assert word_objects(CAPTION, objects) == [0, 0, 0, NO_OBJECT, NO_OBJECT, 1, 1, 1]
    # the phrases are matched by content, not by order: a caption naming the objects the other way round
    assert word_objects(["a", "red", "circle", "right", "of", "a", "yellow", "star"], objects) == [1, 1, 1, NO_OBJECT, NO_OBJECT, 0, 0, 0]
    # a wrong colour falls back to the shape; a phrase matching nothing names no object
    assert word_objects(["a", "green", "star"], objects) == [0, 0, 0]
    assert word_objects(["a", "blue", "square"], objects) == [NO_OBJECT] * 3
    assert word_objects(["a", "red", "star"], (("red", "circle", None), ("yellow", "star", None))) == [1, 1, 1]
    assert [word_role(w) for w in CAPTION] == ["article", "colour", "shape", "relation", "relation", "article", "colour", "shape"]


def test_mass_and_intensity_on_constructed_maps():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :2, :2] = True
    masks[1, 2:, 2:] = True
    maps = torch.zeros(3, 1, 4, 4)
    maps[0, 0, 0, 0], maps[0, 0, 3, 3] = 1.0, 3.0  # a quarter of the mass on object 0
    maps[1, 0] = 0.5  # uniform: 4 of 16 pixels on object 1
    word_masks = torch.stack([masks[0], masks[1], torch.zeros(4, 4, dtype=torch.bool)])
    shares = mass_on_object(maps, word_masks)
    assert shares[:2].tolist() == [0.25, 0.25] and torch.isnan(shares[2])
    assert intensity_on_objects(maps, masks.any(dim=0)).tolist() == [0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match="empty"):
        intensity_on_objects(maps, torch.zeros(4, 4, dtype=torch.bool))


def test_word_table_and_the_results_summary(random_captioner):
    scene = make_scene("test", 0)
    assert scene.tokens == tuple(CAPTION)
    explanation = word_explanations(random_captioner, scene.image.float() / 255, CAPTION)
    explanation.objects = word_objects(CAPTION, scene.objects)
    records = word_table(explanation, scene.masks)
    assert len(records) == 8 * len(CAPTION_METHODS)
    relation = [r for r in records if r["role"] == "relation"]
    assert relation and all(r["mass_on_object"] is None and r["intensity"] is not None for r in relation)
    assert all(r["mass_on_object"] is None and r["intensity"] is None for r in word_table(explanation, None))
    grouped = [{**r, "scene": 0, "group": word_group(r["role"], r["object"])} for r in records]
    summary = summarise_seed({"records": grouped, "scenes_used": 1, "scenes_seen": 1})
    subject = [r for r in grouped if r["group"] in ("subject colour", "subject shape")]
    lsft = {r["position"]: r["mass_on_object"] for r in subject if r["method"] == "lsft"}
    grad_cam = {r["position"]: r["mass_on_object"] for r in subject if r["method"] == "grad_cam"}
    assert summary["subject_win_rate"] == pytest.approx(sum(lsft[p] > grad_cam[p] for p in lsft) / 2)
    assert summary["subject_mass"]["lsft"] == pytest.approx(sum(lsft.values()) / 2, abs=1e-6)
    assert summary["words"] == 8


def test_captioning_results_section_from_the_shipped_captioner(tmp_path):
    results = run_captioning_results(seeds=(0,), scenes=3, root=tmp_path)
    assert results["per_seed"][0]["scenes_used"] <= 3 and list(tmp_path.glob("captioning-words-*.json"))
    markdown = render_captioning_markdown(results)
    assert markdown.startswith("## Captioning: explaining a captioner word by word")
    assert "| LSFT-GAN |" in markdown and "| uniform map (chance) |" in markdown
    assert "LSFT localises subjects better than Grad-CAM" in markdown and "| claim (paper §4.3.7) |" in markdown
    assert "25 volunteers\nfound LSFT-GAN's interpretations better than Grad-CAM's on 7 of 10 questions" in markdown  # §6.2
    # docs/results.md renders the section from its committed JSON summary: the round trip changes nothing
    write_json_summary(SUMMARY_NAME, results, tmp_path / "data")
    assert captioning_section(tmp_path / "data") == markdown
    assert "Not recorded yet" in captioning_section(tmp_path / "empty")


def test_word_cgmas_condition_the_lsft_map(random_captioner):
    from xai_core.sftgan.data import generator_image
    from xai_core.sftgan.explainer import load_generator

    image = make_scene("test", 3).image.float() / 255
    words = ["a", "blue", "square"]
    cgmas = word_cgmas(random_captioner, image, words)
    assert cgmas.shape == (3, 8, 64, 64)
    ids = torch.tensor(encode(words))
    layers = layer_gradcams(
        WordScoreModel(random_captioner, ids[None, :3].expand(3, -1), torch.arange(3)), image[None].expand(3, -1, -1, -1), ids[1:4]
    )
    assert len(layers) == 20 and torch.allclose(cgmas[:, -1], layers.maps.mean(dim=1), atol=1e-6)
    expected = load_generator("lsft-objects")(generator_image(image[None].expand(3, -1, -1, -1)), cgmas).clamp(0, 1)
    lsft = word_explanations(random_captioner, image, words, methods=("lsft",)).maps["lsft"]
    assert torch.allclose(lsft, expected, atol=1e-5)
