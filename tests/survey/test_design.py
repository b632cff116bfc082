"""Survey design: method pairs, class-balanced images, attention-check placement, and rendered stimuli with their
automatic metrics (vgg-mnist, a few images)."""

import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from xai_core.models.registry import model_info
from xai_core.sftgan import generator_info
from xai_core.survey.design import (
    DEMO_DESIGN,
    ROBUSTNESS_METRIC,
    SURVEY_METRICS,
    SurveyDesign,
    _stimulus_plan,
    balanced_indices,
    create_survey,
    method_pairs,
)
from xai_core.survey.repository import SurveyStore


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_method_pairs_are_every_unordered_pair_in_order():
    assert method_pairs(["lsft", "grad_cam"]) == [("lsft", "grad_cam")]
    assert method_pairs(["a", "b", "c", "b"]) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_balanced_indices_take_classes_in_turn_and_repeat_with_the_seed():
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 3)
    chosen = balanced_indices(labels, 9, seed=4)
    assert len(set(chosen)) == 9
    assert sorted(int(labels[i]) for i in chosen) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert chosen == balanced_indices(labels, 9, seed=4)
    assert chosen != balanced_indices(labels, 9, seed=5)
    assert sorted(int(labels[i]) for i in balanced_indices(labels, 15, seed=0)) == [0] * 6 + [1] * 6 + [2] * 3
    with pytest.raises(ValueError, match="only 23 images"):
        balanced_indices(labels, 24, seed=0)


def test_plan_cycles_pairs_and_places_attention_checks_after_the_first_question():
    design = SurveyDesign("t", ("a", "b", "c"), "m", questions=7, attention_checks=3, seed=2)
    plan = _stimulus_plan(design)
    questions = [pair for kind, pair in plan if kind == "question"]
    assert questions == [("a", "b"), ("a", "c"), ("b", "c"), ("a", "b"), ("a", "c"), ("b", "c"), ("a", "b")]
    checks = [(index, kind, pair) for index, (kind, pair) in enumerate(plan) if kind != "question"]
    assert sorted((kind, pair) for _, kind, pair in checks) == [
        ("attention_identical", ("b", "b")),
        ("attention_noise", ("a", "a")),
        ("attention_noise", ("c", "c")),
    ]
    assert all(index > 0 for index, _, _ in checks)
    assert plan == _stimulus_plan(design)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"methods": ("grad_cam",)}, "at least two"),
        ({"methods": ("grad_cam", "grad_cam")}, "at least two"),
        ({"methods": ("grad_cam", "telepathy")}, "unknown method"),
        ({"questions": 0}, "between 1 and"),
        ({"attention_kinds": ("noise", "trick")}, "unknown attention"),
        ({"attention_checks": 1, "attention_kinds": ()}, "at least one kind"),
    ],
)
def test_invalid_designs_are_refused_with_a_reason(changes, message):
    settings = {"title": "t", "methods": ("lsft", "grad_cam"), "model_id": "vgg-mnist", "dataset": "mnist", **changes}
    with pytest.raises(ValueError, match=message):
        SurveyDesign(**settings).validate()


@pytest.fixture(scope="module")
def demo_survey(tmp_path_factory):
    store = SurveyStore(f"sqlite:///{tmp_path_factory.mktemp('design')}/s.sqlite")
    design = SurveyDesign(DEMO_DESIGN.title, DEMO_DESIGN.methods, "vgg-mnist", "mnist", questions=4, attention_checks=2, seed=3)
    steps = []
    code = create_survey(store, design, on_progress=lambda done, message: steps.append(done))
    return store, code, steps


def test_dataset_survey_stores_rendered_stimuli_checks_and_provenance(demo_survey):
    store, code, steps = demo_survey
    assert steps[-1] == 1.0 and steps == sorted(steps)
    survey = store.survey(code)
    assert (survey.status, survey.questions, survey.dataset, survey.methods) == ("draft", 6, "mnist", ["lsft", "grad_cam"])
    assert survey.settings["model_versions"] == {
        "vgg-mnist": model_info("vgg-mnist")["sha256"],
        "lsft-symbols": generator_info("lsft-symbols")["sha256"],
    }
    assert survey.settings["seed"] == 3 and survey.settings["library_versions"]["torch"].startswith("2.14.1")
    stimuli = store.stimuli(code)
    kinds = [s.kind for s in stimuli]
    assert kinds.count("question") == 4 and sorted(k for k in kinds if k != "question") == ["attention_identical", "attention_noise"]
    for stimulus in stimuli:
        image, map_a, map_b = decoded(stimulus.image_png), decoded(stimulus.map_a_png), decoded(stimulus.map_b_png)
        assert image.shape == map_a.shape == map_b.shape == (224, 224, 3)
        assert stimulus.details["source"].startswith("mnist/test#")
        if stimulus.kind == "question":
            assert (stimulus.method_a, stimulus.method_b, stimulus.expected_answer) == ("lsft", "grad_cam", None)
            assert {(m["method"], m["metric"]) for m in stimulus.metrics} == {
                (method, metric) for method in ("lsft", "grad_cam") for metric in (*SURVEY_METRICS, ROBUSTNESS_METRIC)
            }
            assert not np.array_equal(map_a, map_b)
        elif stimulus.kind == "attention_identical":
            assert stimulus.expected_answer == "equal" and stimulus.map_a_png == stimulus.map_b_png and stimulus.metrics == []
        else:
            assert stimulus.expected_answer == "a" and stimulus.method_a == stimulus.method_b
            assert np.abs(map_a.astype(int) - map_b.astype(int)).mean() > 10  # noise looks nothing like the map
    metrics = store.stimulus_metrics(code)
    assert len(metrics) == 4 * 2 * (len(SURVEY_METRICS) + 1)
    robustness = metrics[metrics.metric == ROBUSTNESS_METRIC]
    assert robustness.higher_is_better.all() and robustness.value.between(0, 1).all() and robustness.value.std() > 0
    drop = metrics[metrics.metric == "average_drop"]
    assert not drop.higher_is_better.any() and drop.value.between(0, 100).all()


def test_the_same_design_renders_the_same_stimuli(demo_survey, tmp_path):
    store, code, _ = demo_survey
    again = SurveyStore(f"sqlite:///{tmp_path}/again.sqlite")
    survey = store.survey(code)
    design = SurveyDesign(survey.title, tuple(survey.methods), "vgg-mnist", "mnist", questions=4, attention_checks=2, seed=3)
    code_again = create_survey(again, design)

    def digests(stimuli):
        return [hashlib.sha256(s.image_png + s.map_a_png + s.map_b_png).hexdigest() for s in stimuli]

    assert digests(again.stimuli(code_again)) == digests(store.stimuli(code))


def test_uploaded_images_of_any_size_and_mode_become_questions(tmp_path):
    store = SurveyStore(f"sqlite:///{tmp_path}/s.sqlite")
    generator = torch.Generator().manual_seed(0)
    uploads = [torch.rand(1, 50, 40, generator=generator), torch.rand(3, 28, 28, generator=generator)]
    design = SurveyDesign("uploads", ("grad_cam", "saliency"), "vgg-mnist", questions=3, attention_checks=0)
    code = create_survey(store, design, uploads, ["tall.png", "colour.png"])
    survey = store.survey(code)
    assert (survey.dataset, survey.settings["images"], survey.questions) == ("", "uploaded", 3)
    assert [s.details["source"] for s in store.stimuli(code)] == ["tall.png", "colour.png", "tall.png"]
    with pytest.raises(ValueError, match="at least one image"):
        create_survey(store, design, [], [])
