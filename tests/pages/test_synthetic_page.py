"""Synthetic data page through AppTest, on a tiny conditional GAN trained on the fly: each analysis runs
on click, shows its chart and table, equals the engine's cached numbers, and is reused afterwards."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.common import keys
from tests.conftest import train_tiny_gan
from xai_core.generative import dcgan
from xai_core.metrics import gan_experiments as experiments
from xai_core.metrics.augmentation import AugmentationSettings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def tiny_gan_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gans")
    train_tiny_gan(directory)
    return directory


@pytest.fixture
def app(tiny_gan_dir, tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setattr(dcgan, "checkpoint_dirs", lambda: [tiny_gan_dir])
    monkeypatch.setattr(experiments, "GAN_RESULTS_DIR", tmp_path / "results")
    dcgan.load_gan.cache_clear()
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/synthetic.py").run()
    assert not app.exception, [e.message for e in app.exception]
    yield app
    dcgan.load_gan.cache_clear()


def _table(app: AppTest, column: str):
    """The one dataframe on the page with ``column`` (AppTest finds dataframes by position, not key)."""
    (frame,) = [d.value for d in app.dataframe if column in d.value.columns]
    return frame


def _click(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def test_nothing_runs_before_a_click(app):
    assert app.title[0].value == "Synthetic data"
    assert app.selectbox(key=keys.SYNTH_DATASET).options == ["mnist"]
    assert not app.dataframe
    assert [b.label for b in app.button] == ["Train and compare", "Run the bias audit", "Compute the score"]


def test_augmentation_runs_and_matches_the_engine(app, tmp_path):
    app.text_input(key=keys.SYNTH_SEEDS).set_value("0")
    app.number_input(key=keys.SYNTH_REAL_IMAGES).set_value(100)
    app.number_input(key=keys.SYNTH_SYNTHETIC_IMAGES).set_value(20)
    app.number_input(key=keys.SYNTH_EPOCHS).set_value(1)
    _click(app.run(), "run_augmentation")
    summary = _table(app, "accuracy_mean")
    assert summary.condition.tolist() == ["real", "real + GAN"]
    engine = experiments.augmentation_result(
        AugmentationSettings("mnist", "cdcgan-mnist", seeds=(0,), real_images=100, synthetic_images=20, epochs=1)
    )
    assert summary.accuracy_mean.tolist() == [row["accuracy_mean"] for row in engine["summary"]]
    assert len(list((tmp_path / "results").glob("augmentation-*.json"))) == 1
    assert any(d.label == "Per-seed accuracies (CSV)" for d in app.get("download_button"))


def test_audit_and_score_run_and_show_their_tables(app):
    app.number_input(key=keys.SYNTH_AUDIT_PER_CLASS).set_value(5)
    _click(app.run(), "run_audit")
    audit = _table(app, "ks_statistic")
    assert len(audit) == 10 and set(audit.metric) == {"background_mass"}
    app.number_input(key=keys.SYNTH_SCORE_IMAGES).set_value(10)
    _click(app.run(), "run_score")
    scores = _table(app, "score_mean")
    assert scores.system.tolist() == ["CNN only", "GAN only", "Unified framework"]
    assert scores.paper.tolist() == [61, 54, 79]
    assert ((scores.score_mean >= 0) & (scores.score_mean <= 100)).all()
