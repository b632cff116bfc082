"""The Explain page's per-map badges through AppTest: this image's metrics and the recorded sanity verdicts."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from pages.common.badges import badge_markdown
from xai_core import explain, load_dataset, load_model
from xai_core.metrics import suite
from xai_core.metrics.badges import image_badges

APP = str(Path(__file__).resolve().parents[2] / "app.py")
METHODS = ["grad_cam", "lsft"]


def _open(methods=METHODS) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/explain.py").run()
    app.multiselect(key=keys.METHODS).set_value(methods).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _markdown(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown]


@pytest.fixture
def no_sanity_file(monkeypatch, tmp_path):
    monkeypatch.setattr(suite, "SANITY_VERDICTS_PATH", tmp_path / "missing.json")


def test_badges_show_this_images_metrics(no_sanity_file):
    app = _open()
    card, (image, label, mask) = load_model("vgg-mnist"), load_dataset("mnist", "test")[0]
    expected = image_badges(card, image, explain(card, image, METHODS, label), label, mask)
    shown = _markdown(app)
    for method in METHODS:
        assert badge_markdown(expected[method]) in shown
    gradcam, lsft = expected["grad_cam"], expected["lsft"]
    assert f":gray-badge[drop {lsft['average_drop']:.1f}%]" in badge_markdown(lsft)
    assert f"Dice vs Grad-CAM {lsft['dice']:.2f}" in badge_markdown(lsft) and "Dice vs Grad-CAM" not in badge_markdown(gradcam)
    assert all("Dice vs mask" in badge_markdown(v) and "pointing: " in badge_markdown(v) for v in expected.values())
    assert shown.count(":gray-badge[sanity check not run yet]") == len(METHODS)


def test_an_upload_has_no_mask_badges(no_sanity_file, digit_png):
    app = _open(["grad_cam"])
    app.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    app.file_uploader(key=keys.UPLOAD).upload("digit.png", digit_png, "image/png").run()
    assert not app.exception
    badges = [m for m in _markdown(app) if m.startswith(":gray-badge[drop ")]
    assert len(badges) == 1 and "deletion AUC" in badges[0] and "mask" not in badges[0] and "pointing" not in badges[0]


def test_recorded_sanity_verdicts_show_passed_failed_and_not_run(monkeypatch, tmp_path):
    path = tmp_path / "sanity.json"
    path.write_text(
        json.dumps(
            {
                "threshold": 0.5,
                "verdicts": [
                    {
                        "model": "vgg-mnist",
                        "dataset": "mnist",
                        "method": "grad_cam",
                        "final_correlation": 0.1234,
                        "passed": True,
                        "images": 32,
                        "seeds": [0],
                    },
                    {
                        "model": "vgg-mnist",
                        "dataset": "mnist",
                        "method": "saliency",
                        "final_correlation": 0.87,
                        "passed": False,
                        "images": 32,
                        "seeds": [0],
                    },
                ],
            }
        )
    )
    monkeypatch.setattr(suite, "SANITY_VERDICTS_PATH", path)
    shown = _markdown(_open(["grad_cam", "saliency", "lsft"]))
    assert ":green-badge[sanity: passed (rank corr 0.12 after full randomisation)]" in shown
    assert ":red-badge[sanity: FAILED — map barely changes when the model is randomised (rank corr 0.87)]" in shown
    assert ":gray-badge[sanity: not run for this model]" in shown  # lsft has no verdict
