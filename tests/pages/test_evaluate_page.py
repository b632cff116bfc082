"""Evaluate page through AppTest: its widgets, a run whose table equals the engine's numbers, the shared cache,
and the messages for data it cannot use."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core.explainers import METHOD_LABELS
from xai_core.metrics import suite
from xai_core.metrics.suite import METRICS, EvaluationSettings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _open() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/evaluate.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _configure(app: AppTest, methods, metrics, n, model="vgg-mnist", seeds="0") -> AppTest:
    app.multiselect(key=keys.EVAL_MODELS).set_value([model])
    app.multiselect(key=keys.EVAL_METHODS).set_value(methods)
    app.multiselect(key=keys.EVAL_METRICS).set_value(metrics)
    app.number_input(key=keys.EVAL_IMAGES).set_value(n)
    app.text_input(key=keys.EVAL_SEEDS).set_value(seeds)
    return app.run()


def _run(app: AppTest) -> AppTest:
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def _page_settings() -> EvaluationSettings:
    """The page's default settings (Settings expander untouched)."""
    return EvaluationSettings(robustness_images=16, sanity_images=8, sanity_steps=6)


def test_renders_its_widgets_with_cheap_defaults():
    app = _open()
    assert app.title[0].value == "Evaluate"
    assert [w.label for w in app.multiselect] == ["Models", "Methods", "Metrics"]
    assert app.multiselect(key=keys.EVAL_MODELS).value == ["vgg-mnist"]
    assert app.multiselect(key=keys.EVAL_METHODS).value == ["grad_cam", "lsft", "gsft", "saliency"]
    assert set(app.multiselect(key=keys.EVAL_METRICS).value) == {m for m, metric in METRICS.items() if not metric.level_name}
    assert app.number_input(key=keys.EVAL_IMAGES).value == 16
    assert app.text_input(key=keys.EVAL_SEEDS).value == "0"
    assert {n.label for n in app.number_input} >= {"Perturbation steps", "Robustness images", "Sanity images", "Sanity steps"}
    assert [b.label for b in app.button] == ["Run evaluation"]
    assert not app.dataframe  # nothing runs before the click


def test_run_shows_the_engines_numbers_and_downloads():
    methods, metrics = ["grad_cam", "lsft"], ["average_drop", "deletion_auc", "pointing_game"]
    app = _run(_configure(_open(), methods, metrics, 4))
    table = app.dataframe[0].value
    expected = suite.run_evaluation(["vgg-mnist"], methods, metrics, n=4, seeds=[0], settings=_page_settings()).summary()
    assert len(table) == len(expected) == 6
    for row in expected:
        shown = table[(table["metric"] == METRICS[row["metric"]].label) & (table["method"] == METHOD_LABELS[row["method"]])]
        assert len(shown) == 1
        assert shown["pair"].item() == "vgg-mnist@mnist"
        assert shown["mean"].item() == pytest.approx(row["mean"], rel=1e-9)
        assert shown["std"].item() == 0.0 and shown["seeds"].item() == 1 and shown["images"].item() == 4
        assert shown["better"].item() == ("higher" if METRICS[row["metric"]].higher_is_better else "lower")
    assert len(app.get("plotly_chart")) == 3  # one bar chart per metric
    assert [b.label for b in app.get("download_button")] == [
        "Results CSV (one row per value)",
        "Summary CSV",
        "JSON (config, versions, summary, rows)",
    ]
    assert any("computed in" in c.value for c in app.caption)


def test_a_second_run_of_the_same_configuration_uses_the_cache(monkeypatch):
    calls = []
    original = suite.run_evaluation
    monkeypatch.setattr(suite, "run_evaluation", lambda *a, **k: calls.append(1) or original(*a, **k))
    app = _run(_configure(_open(), ["grad_cam"], ["average_drop"], 3, seeds="1"))
    first = app.dataframe[0].value
    _run(app)
    assert len(calls) == 1
    assert any("kept from an earlier run" in c.value for c in app.caption)
    assert app.dataframe[0].value.equals(first)
    other_session = _configure(_open(), ["grad_cam"], ["average_drop"], 3, seeds="1")  # shown without a click
    assert other_session.dataframe[0].value.equals(first) and len(calls) == 1


def test_sanity_and_noise_curves_with_the_verdict_table():
    app = _open()
    app.number_input(key=keys.EVAL_SANITY_IMAGES).set_value(2)
    app.number_input(key=keys.EVAL_ROBUSTNESS_IMAGES).set_value(2)
    app.number_input(key=keys.EVAL_SANITY_STEPS).set_value(2)
    app = _run(_configure(app, ["grad_cam"], ["sanity_correlation", "noise_stability"], 2))
    assert [s.value for s in app.subheader][:3] == [
        "Results",
        "Robustness to salt-and-pepper noise",
        "Sanity check: cascading randomisation",
    ]
    settings = EvaluationSettings(robustness_images=2, sanity_images=2, sanity_steps=2)
    summary = suite.run_evaluation(["vgg-mnist"], ["grad_cam"], ["sanity_correlation"], n=2, settings=settings).summary()
    final = suite.sanity_verdicts(summary)[("vgg-mnist@mnist", "grad_cam")]
    verdicts = [frame.value for frame in app.dataframe if "verdict" in frame.value.columns][0]
    assert verdicts["final rank corr."].item() == pytest.approx(final["final_correlation"], rel=1e-9)
    assert verdicts["verdict"].item() == ("passes" if final["passed"] else "FAILS")
    assert len(app.get("plotly_chart")) == 2


def test_a_model_without_local_data_and_a_dataset_without_masks_say_so():
    app = _configure(_open(), ["grad_cam"], ["average_drop", "pointing_game"], 2, model="efficientnet_lite0-imagenet")
    assert not app.exception
    assert "No test data here for efficientnet_lite0-imagenet (trained on imagenet)" in app.error[0].value
    app.multiselect(key=keys.EVAL_MODELS).set_value(["vgg-mnist"])
    app.selectbox(key=keys.EVAL_DATASET).select("lfw_subset").run()
    assert "lfw_subset has no ground-truth masks: Pointing game will be skipped there." in app.info[0].value
    _run(app)
    assert "vgg-mnist@lfw_subset: Pointing game skipped" in app.info[0].value
    assert list(app.dataframe[0].value["metric"]) == ["Average drop"]


def test_a_method_undefined_on_the_model_is_skipped_and_said():
    app = _run(_configure(_open(), ["grad_cam", "guided_backprop"], ["average_drop"], 2, model="mobilenet-mnist"))
    assert any(i.value.startswith("mobilenet-mnist@mnist: Guided Backprop skipped: Guided Backprop rewrites") for i in app.info)
    assert list(app.dataframe[0].value["method"]) == ["Grad-CAM"]


def test_bad_seeds_and_empty_choices_are_reported():
    app = _configure(_open(), ["grad_cam"], ["average_drop"], 2, seeds="0,x")
    assert "Seeds must be whole numbers" in app.error[0].value
    app.multiselect(key=keys.EVAL_METHODS).set_value([]).run()
    assert "Choose at least one model, one method and one metric." in app.info[0].value
