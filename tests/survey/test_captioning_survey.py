"""Captioning surveys (SFT-GANs §6.2): design validation, the word each question asks about, stimuli built from the
shipped captioner (details, maps equal to word_explanations' maps rendered, mass on object, attention checks,
provenance), determinism, the analysis of simulated votes, and ``survey-create --task captioning``."""

import dataclasses

import pandas as pd
import pytest

from xai_core.captioning import caption_images, captioner_info, load_captioner, mass_on_object, word_explanations, word_objects, word_role
from xai_core.cli import main
from xai_core.data.captioning import NO_OBJECT, make_scene
from xai_core.imaging import overlay, png_bytes
from xai_core.sftgan import generator_info
from xai_core.survey.analysis import ANSWERS, ROLE_COLUMNS, preference_by_role
from xai_core.survey.design import (
    CAPTION_METRIC,
    CAPTIONING_CONSENT,
    CAPTIONING_DESIGN,
    CAPTIONING_INSTRUCTIONS,
    TASK_DESIGNS,
    SurveyDesign,
    build_caption_stimuli,
    caption_word,
    create_survey,
)
from xai_core.survey.export import survey_report
from xai_core.survey.repository import SurveyStore

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the word maps are small convolutions on a busy machine
DESIGN = dataclasses.replace(CAPTIONING_DESIGN, questions=2, attention_checks=2, seed=2)  # the 2nd question: a relation word
RED_STAR, BLUE_CIRCLE = ("red", "star", (20.0, 30.0)), ("blue", "circle", (45.0, 30.0))
TWO_OBJECTS = ["a", "red", "star", "left", "of", "a", "blue", "circle"]


def test_the_captioning_defaults_and_the_classification_default_task():
    assert TASK_DESIGNS["captioning"] is CAPTIONING_DESIGN
    assert (CAPTIONING_DESIGN.task, CAPTIONING_DESIGN.model_id, CAPTIONING_DESIGN.dataset, CAPTIONING_DESIGN.split) == (
        "captioning",
        "captioner-resnet",
        "captioning",
        "test",
    )
    assert (CAPTIONING_DESIGN.methods, CAPTIONING_DESIGN.questions) == (("lsft", "grad_cam"), 10)
    assert (CAPTIONING_DESIGN.consent_text, CAPTIONING_DESIGN.instructions) == (CAPTIONING_CONSENT, CAPTIONING_INSTRUCTIONS)
    assert "highlighted word" in CAPTIONING_INSTRUCTIONS
    assert SurveyDesign("t", ("lsft", "grad_cam"), "vgg-mnist", "mnist").task == "classification"
    CAPTIONING_DESIGN.validate()
    dataclasses.replace(CAPTIONING_DESIGN, methods=("gsft", "saliency", "grad_cam")).validate()


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"methods": ("score_cam", "grad_cam")},
            r"unknown method\(s\): score_cam \(a captioning survey compares grad_cam, lsft, gsft, saliency\)",
        ),
        ({"methods": ("lsft-symbols", "grad_cam")}, "unknown method"),
        ({"methods": ("lsft", "lsft")}, "at least two"),
        ({"dataset": "mnist"}, "captioning survey shows scenes of the 'captioning' dataset"),
        ({"dataset": ""}, "not 'uploaded images'"),
        ({"split": "validation"}, "'captioning' dataset's splits are train, test, not 'validation'"),
        ({"task": "translation"}, "unknown task 'translation'; known: classification, captioning"),
    ],
)
def test_invalid_captioning_designs_are_refused_with_a_reason(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CAPTIONING_DESIGN, **changes).validate()


def test_the_asked_word_is_an_object_word_with_a_relation_word_every_fourth_stimulus():
    picks = [caption_word(TWO_OBJECTS, (RED_STAR, BLUE_CIRCLE), index, seed=0) for index in range(12)]
    assert [TWO_OBJECTS[p] in ("left", "of") for p in picks] == [index % 4 == 3 for index in range(12)]
    assert all(word_role(TWO_OBJECTS[p]) in ("colour", "shape") for index, p in enumerate(picks) if index % 4 != 3)
    assert picks == [caption_word(TWO_OBJECTS, (RED_STAR, BLUE_CIRCLE), index, seed=0) for index in range(12)]
    assert picks != [caption_word(TWO_OBJECTS, (RED_STAR, BLUE_CIRCLE), index, seed=1) for index in range(12)]
    # one object: no relation word to ask about, so an object word; never the article
    assert {caption_word(["a", "red", "star"], (RED_STAR,), index, seed) for index in range(8) for seed in range(3)} == {1, 2}
    # a wrong second phrase ("green square" names no object): only the words naming a scene object are asked
    wrong = ["a", "red", "star", "left", "of", "a", "green", "square"]
    assert {caption_word(wrong, (RED_STAR, BLUE_CIRCLE), index, seed) for index in (0, 1, 2, 4) for seed in range(5)} == {1, 2}
    # nothing names an object: any colour or shape word
    assert {caption_word(["a", "green", "square"], (RED_STAR,), index, seed) for index in range(4) for seed in range(5)} == {1, 2}
    with pytest.raises(ValueError, match="no words"):
        caption_word([], (RED_STAR,), 0, 0)


@pytest.fixture(scope="module")
def captioning_survey(tmp_path_factory, one_torch_thread):
    store = SurveyStore(f"sqlite:///{tmp_path_factory.mktemp('captioning')}/s.sqlite")
    steps = []
    code = create_survey(store, DESIGN, on_progress=lambda done, message: steps.append(done))
    yield store, code, steps
    store.dispose()


def scene_of(source: str):
    dataset_split, index = source.split("#")
    assert dataset_split == "captioning/test"
    return make_scene("test", int(index))


def test_a_captioning_survey_stores_words_maps_metrics_checks_and_provenance(captioning_survey):
    store, code, steps = captioning_survey
    assert steps[-1] == 1.0 and steps == sorted(steps)
    survey = store.survey(code)
    assert (survey.status, survey.questions, survey.dataset, survey.model_id, survey.methods) == (
        "draft",
        4,
        "captioning",
        "captioner-resnet",
        ["lsft", "grad_cam"],
    )
    assert survey.settings["task"] == "captioning" and survey.consent_text == CAPTIONING_CONSENT
    assert survey.settings["model_versions"] == {
        "captioner-resnet": captioner_info("captioner-resnet")["sha256"],
        "lsft-objects": generator_info("lsft-objects")["sha256"],
    }
    captioner = load_captioner("captioner-resnet")
    stimuli = store.stimuli(code)
    assert sorted(s.kind for s in stimuli) == ["attention_identical", "attention_noise", "question", "question"]
    assert len({s.details["source"] for s in stimuli}) == 4  # no scene twice
    for index, stimulus in enumerate(stimuli):
        details, scene = stimulus.details, scene_of(stimulus.details["source"])
        words = details["caption"].split()
        assert words == caption_images(captioner, scene.image[None])[0]
        assert details["true_caption"] == scene.caption
        assert details["word_position"] == caption_word(words, scene.objects, index, DESIGN.seed)
        assert (details["word"], details["role"]) == (words[details["word_position"]], word_role(details["word"]))
        if stimulus.kind == "attention_identical":
            assert stimulus.expected_answer == "equal" and stimulus.map_a_png == stimulus.map_b_png and stimulus.metrics == []
        elif stimulus.kind == "attention_noise":
            assert stimulus.expected_answer == "a" and stimulus.method_a == stimulus.method_b and stimulus.metrics == []
    questions = [s for s in stimuli if s.kind == "question"]
    assert [(s.method_a, s.method_b, s.expected_answer) for s in questions] == [("lsft", "grad_cam", None)] * 2
    for stimulus in questions:  # the maps and masses are word_explanations' for the generated caption
        details, scene = stimulus.details, scene_of(stimulus.details["source"])
        words, position = details["caption"].split(), details["word_position"]
        explanation = word_explanations(captioner, scene.image.float() / 255, words, ("lsft", "grad_cam"))
        for method, stored in (("lsft", stimulus.map_a_png), ("grad_cam", stimulus.map_b_png)):
            assert stored == png_bytes(overlay(scene.image.float() / 255, explanation.maps[method][position], 0.5, "jet", 224))
        explanation.objects = word_objects(words, scene.objects)
        if explanation.objects[position] == NO_OBJECT:
            assert stimulus.metrics == []
            continue
        masses = {
            method: float(mass_on_object(explanation.maps[method], explanation.word_masks(scene.masks))[position])
            for method in ("lsft", "grad_cam")
        }
        assert stimulus.metrics == [
            {"method": method, "metric": CAPTION_METRIC, "higher_is_better": True, "value": masses[method]}
            for method in ("lsft", "grad_cam")
        ]
        assert all(0 <= value <= 1 for value in masses.values())


def test_the_same_design_builds_byte_identical_stimuli(captioning_survey):
    store, code, _ = captioning_survey
    again = build_caption_stimuli(DESIGN, load_captioner("captioner-resnet"))
    assert [dataclasses.replace(s, position=0) for s in store.stimuli(code)] == again


def answer_canonically(store: SurveyStore, code: str, respondent: int, fail_identical_check: bool) -> None:
    """Respondent ``respondent`` answers question p with ANSWERS[(respondent + p) % 3] (a / b / equal, whatever side
    a is on), passes the noise check and passes the identical check unless ``fail_identical_check``."""
    stimuli = {s.position: s for s in store.stimuli(code)}
    token = store.join(code, consent=True)
    while (question := store.next_question(code, token)) is not None:
        stimulus = stimuli[question.position]
        assert question.caption == stimulus.details["caption"] and question.word_position == stimulus.details["word_position"]
        wanted = {
            "question": ANSWERS[(respondent + question.position) % 3],
            "attention_noise": "a",
            "attention_identical": "a" if fail_identical_check else "equal",
        }[stimulus.kind]
        a_side = "left" if question.left_png == stimulus.map_a_png else "right"
        choice = "equal" if wanted == "equal" else a_side if wanted == "a" else {"left": "right", "right": "left"}[a_side]
        assert store.record_answer(code, token, question.position, choice)
    store.complete(code, token)


def test_simulated_votes_are_analysed_as_in_a_classification_survey(captioning_survey):
    store, code, _ = captioning_survey
    store.set_status(code, "open")
    for respondent in range(3):
        answer_canonically(store, code, respondent, fail_identical_check=respondent == 2)
    report = survey_report(store, code)
    questions = [s for s in store.stimuli(code) if s.kind == "question"]
    everyone, attentive = report.analyses["all respondents"], report.analyses["passed attention checks"]
    assert (everyone.respondents_analysed, attentive.respondents_analysed, attentive.respondents_excluded) == (3, 2, 1)
    assert everyone.per_question[["votes_a", "votes_b", "equal", "winner"]].values.tolist() == [[1, 1, 1, "equal"]] * 2
    expected = [[(ANSWERS[s.position % 3], ANSWERS[(s.position + 1) % 3]).count(answer) for answer in ANSWERS] for s in questions]
    assert attentive.per_question[["votes_a", "votes_b", "equal"]].values.tolist() == expected
    pairwise = everyone.pairwise[["method_a", "method_b", "wins_a", "wins_b", "ties"]]
    assert pairwise.values.tolist() == [["lsft", "grad_cam", 2, 2, 2]]
    correlation = everyone.metric_correlation
    assert correlation["metric"].tolist() == [CAPTION_METRIC]
    assert correlation["questions"].tolist() == [sum(bool(s.metrics) for s in questions)]
    roles = report.word_roles["all respondents"]
    assert list(roles.columns) == ROLE_COLUMNS
    role_counts = {role: [s.details["role"] for s in questions].count(role) for role in {s.details["role"] for s in questions}}
    assert roles[["role", "questions", "votes_a", "votes_b", "equal", "n"]].values.tolist() == [
        [role, count, count, count, count, 3 * count] for role, count in sorted(role_counts.items())
    ]
    assert roles["share_a"].tolist() == [0.5] * len(role_counts)


def test_votes_per_word_role_add_up_with_a_decisive_share():
    per_question = pd.DataFrame(
        [
            [1, "lsft", "grad_cam", 3, 1, 0, 4, "lsft"],
            [2, "lsft", "grad_cam", 0, 0, 2, 2, "equal"],
            [3, "lsft", "grad_cam", 1, 2, 1, 4, "grad_cam"],
            [4, "lsft", "grad_cam", 2, 2, 0, 4, "equal"],
        ],
        columns=["question", "method_a", "method_b", "votes_a", "votes_b", "equal", "n", "winner"],
    )
    table = preference_by_role(per_question, {1: "shape", 2: "relation", 3: "shape"})
    assert table.drop(columns="share_a").values.tolist() == [
        ["relation", "lsft", "grad_cam", 1, 0, 0, 2, 2],
        ["shape", "lsft", "grad_cam", 2, 4, 3, 1, 8],
    ]
    assert table["share_a"].isna().tolist() == [True, False] and table["share_a"].iloc[1] == 4 / 7
    assert preference_by_role(per_question, {}).columns.tolist() == ROLE_COLUMNS


def test_survey_create_with_the_captioning_task(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/cli.sqlite"
    assert main(["survey-create", "--task", "captioning", "--questions", "1", "--attention-checks", "0", "--quiet", "--database", url]) == 0
    store = SurveyStore(url)
    (survey,) = store.list_surveys()
    assert (survey.settings["task"], survey.model_id, survey.dataset, survey.methods, survey.questions) == (
        "captioning",
        "captioner-resnet",
        "captioning",
        ["lsft", "grad_cam"],
        1,
    )
    assert (survey.consent_text, survey.instructions) == (CAPTIONING_CONSENT, CAPTIONING_INSTRUCTIONS)
    store.dispose()
    capsys.readouterr()
    assert main(["survey-create", "--task", "captioning", "--methods", "score_cam", "grad_cam", "--quiet", "--database", url]) == 2
    assert "error: unknown method(s): score_cam" in capsys.readouterr().err
