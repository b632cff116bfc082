"""Report page through AppTest: its widgets, a built report whose download holds the provenance and the images,
a GAN sample in the report, and reports on an evaluation run directory (and a refused one)."""

from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pages.common import keys
from tests.conftest import train_tiny_gan
from xai_core.generative import dcgan
from xai_core.metrics.suite import run_evaluation
from xai_core.models import model_info
from xai_core.reports.evaluation_report import write_evaluation

APP = str(Path(__file__).resolve().parents[2] / "app.py")
GAN_ID = "test-report-page-cdcgan"


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[bytes, str]]:
    """{media file id: (data, mimetype)} of everything the app hands to the media storage (download buttons)."""
    captured = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        captured[file_id] = (self._files_by_id[file_id].content, mimetype)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return captured


def _download(app: AppTest, captured: dict) -> tuple[str, str]:
    """(text, mimetype) behind the page's one download button."""
    buttons = app.get("download_button")
    assert [b.label for b in buttons] == ["Download HTML report"]
    data, mimetype = captured[Path(buttons[0].proto.url).stem]
    return data.decode(), mimetype


def _open() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/report.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _build(app: AppTest) -> AppTest:
    next(b for b in app.button if b.label == "Build report").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def test_renders_its_widgets_and_nothing_before_the_click():
    app = _open()
    assert app.title[0].value == "Report"
    assert app.radio(key=keys.REPORT_SOURCE).value == keys.REPORT_ON_IMAGE
    assert app.multiselect(key=keys.REPORT_METHODS).value == ["grad_cam", "lsft"]
    assert app.selectbox(key=keys.REPORT_GAN).value == keys.REPORT_NO_GAN
    assert [b.label for b in app.button] == ["Build report"]
    assert not app.get("download_button") and not app.get("iframe")
    assert "Build the report to preview and download it." in [c.value for c in app.caption]


def test_building_the_report_yields_an_html_download_with_provenance_and_images(downloads):
    app = _build(_open())
    html, mimetype = _download(app, downloads)
    assert mimetype == "text/html"
    assert html.startswith("<!DOCTYPE html>") and "<img " in html
    provenance = html[html.index('id="bundle-1-provenance"') :]
    assert model_info("vgg-mnist")["sha256"] in provenance and "mnist test #0" in provenance
    assert html.count('alt="Grad-CAM map of the original image"') == 1 and 'alt="LSFT-GAN map of the original image"' in html
    assert len(app.get("iframe")) == 1  # the preview
    app.multiselect(key=keys.REPORT_METHODS).set_value(["grad_cam"]).run()  # another request: the old report is not offered
    assert not app.get("download_button")
    html, _ = _download(_build(app), downloads)
    assert "LSFT-GAN map" not in html


@pytest.fixture
def tiny_gan(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    dcgan.load_gan.cache_clear()
    entry = train_tiny_gan(tmp_path, GAN_ID)
    yield entry
    dcgan.load_gan.cache_clear()


def test_a_gan_sample_of_the_models_dataset_joins_the_report(tiny_gan, downloads):
    app = _open()
    assert GAN_ID in app.selectbox(key=keys.REPORT_GAN).options
    app.selectbox(key=keys.REPORT_GAN).select(GAN_ID).run()
    app.number_input(key=keys.REPORT_GAN_SEED).set_value(7).run()
    app.selectbox(key=keys.REPORT_GAN_CLASS).select(5).run()
    html, _ = _download(_build(app), downloads)
    assert tiny_gan["sha256"] in html and f"{GAN_ID}, seed 7, class 5" in html
    assert 'alt="Grad-CAM map of the generated image"' in html and "Latent sensitivity: top 8 of 8 dimensions" in html
    assert html.count("<img ") == 1 + 2 + 1 + 2 + 4  # two images, two maps each, four latent pixel maps


def test_a_finished_evaluation_run_is_reported_and_a_wrong_directory_refused(tmp_path, downloads):
    run_dir = tmp_path / "run"
    write_evaluation(run_evaluation(["vgg-mnist"], ["grad_cam"], ["average_drop"], n=2, seeds=[0]), run_dir)
    app = _open()
    app.radio(key=keys.REPORT_SOURCE).set_value(keys.REPORT_ON_RUN).run()
    app.text_input(key=keys.REPORT_RUN_PATH).input(str(tmp_path)).run()
    assert "Cannot report on this directory" in app.error[0].value and "results.json, summary.csv missing" in app.error[0].value
    app.text_input(key=keys.REPORT_RUN_PATH).input(str(run_dir)).run()
    assert not app.error
    html, _ = _download(_build(app), downloads)
    assert 'id="run-scores"' in html and 'id="run-provenance"' in html and model_info("vgg-mnist")["sha256"] in html
    assert "Plotly.newPlot(" in html


def test_the_report_source_survives_a_visit_to_another_page():
    app = _open()
    app.radio(key=keys.REPORT_SOURCE).set_value(keys.REPORT_ON_RUN).run()
    app.switch_page("pages/home.py").run()
    app.switch_page("pages/report.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.radio(key=keys.REPORT_SOURCE).value == keys.REPORT_ON_RUN
