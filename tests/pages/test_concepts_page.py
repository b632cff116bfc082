"""Concepts page through AppTest: defaults and previews, a TCAV run whose table equals the engine's numbers, the
shared cache, a user's concept set from a zip, and the messages for a model without registered concepts."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from tests.conftest import png_bytes
from xai_core import load_model
from xai_core.attribution import tcav
from xai_core.data.concepts import CONCEPTS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
N = 20


def _open() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/concepts.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _configure(app: AppTest, model="vgg-glyphs", concepts=("slanted",), n=N) -> AppTest:
    app.selectbox(key=keys.TCAV_MODEL).select(model).run()
    app.multiselect(key=keys.TCAV_CONCEPTS).set_value(list(concepts))
    app.number_input(key=keys.TCAV_IMAGES).set_value(n)
    return app.run()


def _run(app: AppTest) -> AppTest:
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def test_renders_with_defaults_and_previews_each_concept():
    app = _open()
    assert app.title[0].value == "Concepts"
    assert [w.label for w in app.selectbox] == ["Model", "Class", "Layer"]
    assert app.selectbox(key=keys.TCAV_MODEL).value == "vgg-mnist"  # follows the shared model: mnist has concepts
    assert app.selectbox(key=keys.TCAV_LAYER).value == "features.20"  # the last conv layer
    assert app.multiselect(key=keys.TCAV_CONCEPTS).value == list(CONCEPTS["mnist"])
    assert app.number_input(key=keys.TCAV_RANDOMS).value == 10 and app.number_input(key=keys.TCAV_IMAGES).value == 30
    assert [b.label for b in app.button] == ["Run TCAV"]
    previews = app.get("image")
    assert len(previews) == len(CONCEPTS["mnist"]) + 1 and all(len(p.proto.imgs) == 6 for p in previews)
    assert "concept set(s) x 10 random sets" in app.caption[-1].value
    assert not app.dataframe  # nothing runs before the click


def test_changing_the_model_brings_its_classes_layers_and_concepts():
    app = _open()
    app.selectbox(key=keys.TCAV_MODEL).select("vgg-shapes").run()
    assert not app.exception
    assert app.multiselect(key=keys.TCAV_CONCEPTS).value == ["striped texture", "red", "green"]
    assert app.selectbox(key=keys.TCAV_TARGET).options[:2] == ["circle", "square"]
    app.selectbox(key=keys.TCAV_MODEL).select("vgg-fashion_mnist").run()
    assert app.multiselect(key=keys.TCAV_CONCEPTS).value == []
    assert app.info[0].value == "Choose at least one concept set, or upload your own."


def test_run_shows_the_engines_scores_and_p_values():
    app = _run(_configure(_open()))
    expected = tcav.run_tcav(load_model("vgg-glyphs"), ["slanted"], 0, n_images=N, n_random=10, seed=0, layer_name="features.20").concept(
        "slanted"
    )
    table = app.dataframe[0].value
    assert list(table["concept"]) == ["slanted"]
    row = table.iloc[0]
    assert row["TCAV score"] == pytest.approx(expected.score, abs=1e-12)
    assert row["p-value"] == pytest.approx(expected.p_adjusted, rel=1e-12)
    assert bool(row["significant"]) == expected.significant and row["stars"] == expected.stars
    assert row["CAV accuracy"] == pytest.approx(expected.cav_accuracy, abs=1e-12)
    assert len(app.get("plotly_chart")) == 1
    assert [b.label for b in app.get("download_button")] == ["Scores CSV", "JSON (config, versions, every run)"]
    assert any("computed in" in c.value for c in app.caption)


def test_a_second_run_of_the_same_configuration_uses_the_cache(monkeypatch):
    calls = []
    original = tcav.run_tcav
    monkeypatch.setattr(tcav, "run_tcav", lambda *a, **k: calls.append(1) or original(*a, **k))
    app = _run(_configure(_open(), concepts=("thick strokes",), n=12))
    first = app.dataframe[0].value
    _run(app)
    assert len(calls) == 1 and any("kept from an earlier run" in c.value for c in app.caption)
    other_session = _configure(_open(), concepts=("thick strokes",), n=12)  # shown without a click
    assert other_session.dataframe[0].value.equals(first) and len(calls) == 1


def test_a_users_concept_set_from_a_zip_is_previewed_and_scored():
    bars = np.zeros((32, 32), dtype=np.uint8)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for i in range(12):
            image = bars.copy()
            image[:, 4 + i : 10 + i] = 255  # a thick vertical bar at 12 positions
            bundle.writestr(f"bars/{i}.png", png_bytes(image))
    app = _configure(_open(), concepts=())
    app.text_input(key=keys.TCAV_USER_CONCEPT_NAME).set_value("vertical bars")
    app.file_uploader(key=keys.TCAV_USER_CONCEPT_FILES).upload("bars.zip", archive.getvalue(), "application/zip").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "**vertical bars (yours, 12 images)**" in [m.value for m in app.markdown]
    _run(app)
    assert list(app.dataframe[0].value["concept"]) == ["vertical bars"]
    assert 0 <= app.dataframe[0].value["p-value"].item() <= 1
