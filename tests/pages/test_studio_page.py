"""The Studio page (issue 21's unified view) through AppTest: a dataset image, the current upload and a GAN sample,
each with its prediction, the chosen maps plus LSFT and GSFT on one scale with the engine's badges, and the CGMA
relevance chart; a slider move regenerates the GAN sample and re-explains it."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from pages.common.badges import badge_markdown
from xai_core import explainers, load_dataset, load_model
from xai_core.attribution.base import normalise_maps
from xai_core.explainers import explain_image
from xai_core.generative.dcgan import load_gan
from xai_core.generative.studio import base_latent, edit_latent, render
from xai_core.metrics.badges import image_badges

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SHOWN = ["saliency", "grad_cam", "lsft", "gsft"]  # the default attribution maps, then the generators


@pytest.fixture
def studio() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/studio.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _expected_badges(model_id: str, image: torch.Tensor) -> list[str]:
    """The badge lines the page must show: the engine's maps, min-max normalised, scored by image_badges."""
    card = load_model(model_id)
    explanation = explain_image(card, image, SHOWN)
    maps = {m: normalise_maps(explanation.maps[m]) for m in SHOWN}
    badges = image_badges(card, image, maps, explanation.target)
    return [badge_markdown(badges[m]) for m in SHOWN]


def _badges(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith(":gray-badge")]


def test_a_dataset_image_with_every_map_its_badges_and_the_relevance_chart(studio):
    assert studio.radio(key=keys.STUDIO_SUBJECT).value == keys.SUBJECT_DATASET
    image, label, _ = load_dataset("mnist", "test")[0]
    assert studio.get("image")[0].captions[0] == "mnist test #0"
    titles = [m.value for m in studio.markdown if m.value.startswith("**")]
    assert titles == ["**Saliency**", "**Grad-CAM**", "**LSFT-GAN**", "**GSFT-GAN**"]
    assert _badges(studio) == _expected_badges("vgg-mnist", image)
    charts = [chart.proto.spec for chart in studio.get("plotly_chart")]
    assert len(charts) == 2 and '"Top predictions"' in charts[0] and "relevance of each CGMA" in charts[1]
    assert "lsft-symbols" in charts[1]
    # more maps on request: the tile grid grows, LSFT and GSFT stay last
    studio.multiselect(key=keys.STUDIO_METHODS).select("layer_cam").run()
    titles = [m.value for m in studio.markdown if m.value.startswith("**")]
    assert titles[-3:] == ["**LayerCAM**", "**LSFT-GAN**", "**GSFT-GAN**"] and not studio.exception


def test_the_current_upload_is_the_subject_and_choosing_a_subject_follows_to_other_pages(studio):
    image, _, _ = load_dataset("mnist", "test")[3]
    buffer = io.BytesIO()
    Image.fromarray((image[0].numpy() * 255).astype(np.uint8)).save(buffer, format="PNG")
    studio.switch_page("pages/explore.py").run()
    studio.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    studio.file_uploader(key=keys.UPLOAD).upload("three.png", buffer.getvalue(), "image/png").run()
    studio.switch_page("pages/studio.py").run()
    assert not studio.exception and studio.radio(key=keys.STUDIO_SUBJECT).value == keys.SUBJECT_UPLOAD
    assert studio.get("image")[0].captions[0] == "upload: three.png (28x28, L)"
    assert _badges(studio) == _expected_badges("vgg-mnist", image)
    studio.radio(key=keys.STUDIO_SUBJECT).set_value(keys.SUBJECT_DATASET).run()
    studio.switch_page("pages/explain.py").run()
    assert studio.radio(key=keys.IMAGE_SOURCE).value == keys.SOURCE_DATASET


def test_a_gan_sample_with_sliders_that_regenerate_and_re_explain_it(studio):
    studio.radio(key=keys.STUDIO_SUBJECT).set_value(keys.SUBJECT_GAN).run()
    assert not studio.exception, [e.message for e in studio.exception]
    generator = load_gan("cdcgan-mnist")
    image = render(generator, base_latent(generator, 0), 0)
    assert studio.get("image")[0].captions[0] == "cdcgan-mnist · class 0 · seed 0 · 0 slider(s) moved"
    assert _badges(studio) == _expected_badges("vgg-mnist", image)
    first_slider = next(slider.key for slider in studio.slider if slider.key.startswith(keys.GAN_DIMENSION_OFFSET))
    top = int(first_slider.removeprefix(keys.GAN_DIMENSION_OFFSET))  # the page ranked the dimensions (GAN Studio's tests check how)
    studio.slider(key=first_slider).set_value(2.0).run()
    assert not studio.exception
    edited = render(generator, edit_latent(base_latent(generator, 0), {top: 2.0}, {}, torch.zeros(0, generator.latent_dim)), 0)
    assert not torch.equal(edited, image)
    assert studio.get("image")[0].captions[0] == "cdcgan-mnist · class 0 · seed 0 · 1 slider(s) moved"
    assert _badges(studio) == _expected_badges("vgg-mnist", edited)


def test_a_map_too_slow_for_the_studio_points_to_explain(studio, monkeypatch):
    monkeypatch.setattr(explainers, "ON_REQUEST_PASSES", 20)  # Score-CAM on vgg-mnist's last layer needs more
    studio.multiselect(key=keys.STUDIO_METHODS).select("score_cam").run()
    assert not studio.exception
    passes = explainers.method_passes(load_model("vgg-mnist"), ["score_cam"])["score_cam"]
    assert f"{passes} passes through vgg-mnist: compute it on the Explain page, then it shows here." in [i.value for i in studio.info]
    titles = [m.value for m in studio.markdown if m.value.startswith("**")]
    assert "**Score-CAM**" in titles and len(_badges(studio)) == 4  # no badge for the map not drawn
