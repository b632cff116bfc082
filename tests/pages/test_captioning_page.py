"""Captioning page through AppTest: the captioner's caption as word buttons, the chosen word's four maps with the
word table's mass on object, the per-word charts, an upload without masks, a captioner whose weights are missing."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core.captioning import (
    CAPTION_METHODS,
    caption_images,
    load_captioner,
    prepare_image,
    word_explanations,
    word_objects,
    word_role,
    word_table,
)
from xai_core.captioning.words import WORD_TABLE_COLUMNS
from xai_core.data import decode_image
from xai_core.data.captioning import make_scene
from xai_core.explainers import METHOD_LABELS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CAPTIONER = "captioner-resnet"
SCENE = 7  # "a green circle right of a blue circle": repeated words and a relation


@pytest.fixture(scope="module")
def scene_words_records():
    """The scene, its generated caption and its word table, computed with the engine alone."""
    scene = make_scene("test", SCENE)
    captioner = load_captioner(CAPTIONER)
    words = caption_images(captioner, scene.image[None])[0]
    explanation = word_explanations(captioner, scene.image.float() / 255, words)
    explanation.objects = word_objects(words, scene.objects)
    return scene, words, word_table(explanation, scene.masks)


@pytest.fixture(scope="module")
def captioning_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/captioning.py").run()
    app.number_input(key=keys.CAPTION_SCENE).set_value(SCENE).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _word_buttons(app: AppTest) -> list[tuple[str, str]]:
    return [(button.label, button.proto.type) for button in app.button if button.key.startswith(keys.CAPTION_WORD_BUTTON)]


def _map_captions(app: AppTest) -> list[str]:
    return [caption for image in app.get("image")[1:] for caption in image.captions if " (word " in caption]


def _assert_shows_word(app: AppTest, words: list[str], records: list[dict], position: int) -> None:
    """The header, the primary button, the four maps' captions and their mass on object are those of word ``position``."""
    word = words[position]
    assert app.subheader[0].value == f"Word {position + 1}: “{word}”"
    assert _word_buttons(app) == [(w, "primary" if p == position else "secondary") for p, w in enumerate(words)]
    assert _map_captions(app) == [f"{METHOD_LABELS[m]} for “{word}” (word {position + 1})" for m in CAPTION_METHODS]
    rows = {row["method"]: row for row in records if row["position"] == position}
    expected = ["no object" if rows[m]["mass_on_object"] is None else f"{rows[m]['mass_on_object']:.3f}" for m in CAPTION_METHODS]
    assert [(metric.label, metric.value) for metric in app.metric] == [("Mass on object", value) for value in expected]


def test_the_caption_is_the_captioners_and_its_first_shape_word_is_chosen(captioning_page, scene_words_records):
    scene, words, records = scene_words_records
    assert [label for label, _ in _word_buttons(captioning_page)] == words
    verdict = "matches it" if words == list(scene.tokens) else "differs from it"
    assert f"**True caption:** {scene.caption}. The generated caption {verdict}." in [m.value for m in captioning_page.markdown]
    assert captioning_page.get("image")[0].captions == [f"captioning test scene #{SCENE}"]
    first_shape = next(p for p, word in enumerate(words) if word_role(word) == "shape")
    _assert_shows_word(captioning_page, words, records, first_shape)


def test_the_charts_and_the_table_hold_the_word_table(captioning_page, scene_words_records):
    _, words, records = scene_words_records
    mass, intensity = (json.loads(chart.proto.spec) for chart in captioning_page.get("plotly_chart"))
    labels = [f"{p + 1}. {word}" for p, word in enumerate(words)]
    for figure, column in ((mass, "mass_on_object"), (intensity, "intensity")):
        assert [trace["name"] for trace in figure["data"]] == [METHOD_LABELS[m] for m in CAPTION_METHODS]
        for trace, method in zip(figure["data"], CAPTION_METHODS):
            assert trace["x"] == labels
            assert trace["y"] == [row[column] for row in records if row["method"] == method]
    relations = [label for label, word in zip(labels, words) if word_role(word) == "relation"]
    assert [note["x"] for note in mass["layout"].get("annotations", []) if note["text"] == "no object"] == relations
    pd.testing.assert_frame_equal(captioning_page.dataframe[0].value, pd.DataFrame(records, columns=WORD_TABLE_COLUMNS), check_dtype=False)


def test_clicking_a_word_explains_that_word(captioning_page, scene_words_records):
    _, words, records = scene_words_records
    relation = next(p for p, word in enumerate(words) if word_role(word) == "relation")
    captioning_page.button(key=f"{keys.CAPTION_WORD_BUTTON}{relation}").click().run()
    assert not captioning_page.exception
    _assert_shows_word(captioning_page, words, records, relation)
    assert {metric.value for metric in captioning_page.metric} == {"no object"}
    assert captioning_page.expander[0].get("image")[0].captions == [f"CGMA {k}" for k in range(1, 9)]
    last = len(words) - 1
    captioning_page.button(key=f"{keys.CAPTION_WORD_BUTTON}{last}").click().run()
    _assert_shows_word(captioning_page, words, records, last)
    captioning_page.slider(key=keys.OPACITY).set_value(0.8).run()  # the chosen word stays through other changes
    _assert_shows_word(captioning_page, words, records, last)


def test_an_upload_of_another_size_and_mode_is_captioned_without_masks():
    scene = make_scene("test", SCENE)
    picture = Image.fromarray(scene.image.permute(1, 2, 0).numpy()).resize((120, 90)).convert("RGBA")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    expected_words = caption_images(load_captioner(CAPTIONER), prepare_image(decode_image(buffer.getvalue()))[None])[0]

    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/captioning.py").run()
    app.radio(key=keys.CAPTION_SOURCE).set_value(keys.CAPTION_SOURCE_UPLOAD).run()
    app.file_uploader(key=keys.UPLOAD).upload("scene.png", buffer.getvalue(), "image/png").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert [label for label, _ in _word_buttons(app)] == expected_words
    assert app.get("image")[0].captions == ["upload: scene.png (120x90, RGB), seen by the captioner at 64x64 RGB"]
    assert len(_map_captions(app)) == len(CAPTION_METHODS)
    assert "Mass on object needs the object masks of a test scene" in app.info[0].value
    assert not app.metric and not app.get("plotly_chart")
    table = app.dataframe[0].value
    assert len(table) == len(CAPTION_METHODS) * len(expected_words) and table["mass_on_object"].isna().all()


def test_a_captioner_without_its_weights_shows_how_to_train_one(tmp_path, monkeypatch):
    manifest = {
        "format": 1,
        "models": [],
        "captioners": [
            {
                "id": "captioner-absent",
                "architecture": {"encoder_arch": "resnet"},
                "file": "captioner-absent.safetensors",
                "sha256": "0" * 64,
            }
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/captioning.py").run()
    app.selectbox(key=keys.CAPTIONER_ID).select("captioner-absent").run()
    assert not app.exception
    message = app.error[0].value
    assert message.startswith("Captioner captioner-absent cannot be loaded:") and "`python -m xai_core train-captioner`" in message
    assert not app.button and not app.get("image")
