"""Survey exports: the explainability score of each surveyed method (exact values on a constructed survey), the CSV
round trip and the JSON report."""

import io
import json
import math

import pandas as pd
import pytest

from xai_core.survey.analysis import analyse
from xai_core.survey.design import ROBUSTNESS_METRIC
from xai_core.survey.export import method_scores, report_dict, responses_csv, survey_report, write_report
from xai_core.survey.repository import StimulusData, SurveyStore


def stored_survey(tmp_path):
    """Two questions (lsft vs grad_cam) with planted metrics; three respondents: lsft wins 3, loses 1, ties 2."""
    store = SurveyStore(f"sqlite:///{tmp_path}/s.sqlite")
    planted = {1: {"lsft": (10.0, 0.5, 0.9), "grad_cam": (40.0, 0.2, 0.5)}, 2: {"lsft": (30.0, 0.7, 0.7), "grad_cam": (20.0, 0.4, 0.3)}}
    stimuli = [
        StimulusData(
            "question",
            "lsft",
            "grad_cam",
            b"image",
            b"a",
            b"b",
            metrics=[
                {"method": method, "metric": metric, "value": value, "higher_is_better": better}
                for method, values in planted[question].items()
                for metric, value, better in zip(("average_drop", "energy_pointing_game", ROBUSTNESS_METRIC), values, (False, True, True))
            ],
        )
        for question in (1, 2)
    ]
    code = store.create_survey("planted", ["lsft", "grad_cam"], stimuli)
    store.set_status(code, "open")
    comments = ["'); DROP TABLE responses; --", "<script>alert(1)</script>", "x" * 10_000, "", 'naïve, "quoted"\nnew line', ""]
    answers = iter([("a", 0), ("a", 1), ("a", 2), ("b", 3), ("equal", 4), ("equal", 5)])
    for _ in range(3):
        token = store.join(code)
        store.consent(code, token)
        while (question := store.next_question(code, token)) is not None:
            answer, comment = next(answers)
            store.record_answer(code, token, question.position, _click_for(store, code, token, question, answer), comment=comments[comment])
    return store, code


def _click_for(store, code, token, question, answer):
    """The left/right click that gives ``answer`` for this respondent's side assignment."""
    if answer == "equal":
        return "equal"
    stimulus = next(s for s in store.stimuli(code) if s.position == question.position)
    left_is_a = question.left_png == stimulus.map_a_png
    return "left" if (answer == "a") == left_is_a else "right"


def test_method_scores_combine_the_stored_metrics_with_human_preference(tmp_path):
    store, code = stored_survey(tmp_path)
    analysis = analyse(store.responses(code), store.stimulus_metrics(code), exclude_failed_attention=False)
    scores = method_scores(analysis, store.stimulus_metrics(code)).set_index("method")
    lsft, grad_cam = scores.loc["lsft"], scores.loc["grad_cam"]
    assert (lsft.fidelity, lsft.localisation, lsft.robustness) == pytest.approx((0.8, 0.6, 0.8))
    assert (grad_cam.fidelity, grad_cam.localisation, grad_cam.robustness) == pytest.approx((0.7, 0.3, 0.4))
    assert lsft.human_preference == pytest.approx(4 / 6) and grad_cam.human_preference == pytest.approx(2 / 6)
    assert lsft.score_without_people == pytest.approx(100 * (0.4 * 0.8 + 0.3 * 0.6 + 0.3 * 0.8))
    assert lsft.score == pytest.approx(100 * (0.74 + 0.25 * 4 / 6) / 1.25)
    assert grad_cam.score == pytest.approx(100 * (0.4 * 0.7 + 0.3 * 0.3 + 0.3 * 0.4 + 0.25 * 2 / 6) / 1.25)


def test_scores_are_nan_without_masks(tmp_path):
    store, code = stored_survey(tmp_path)
    metrics = store.stimulus_metrics(code)
    metrics = metrics[metrics.metric != "energy_pointing_game"]
    scores = method_scores(analyse(store.responses(code), metrics, False), metrics)
    assert scores.score.isna().all() and scores.score_without_people.isna().all() and scores.human_preference.notna().all()


def test_csv_holds_every_stored_vote_verbatim_and_json_is_complete(tmp_path):
    store, code = stored_survey(tmp_path)
    stored = store.responses(code)
    exported = pd.read_csv(io.BytesIO(responses_csv(stored)), keep_default_na=False)
    assert len(exported) == len(stored) == 6
    assert exported["comment"].tolist() == stored["comment"].tolist()
    assert "x" * 10_000 in exported["comment"].tolist() and "<script>alert(1)</script>" in exported["comment"].tolist()
    assert exported["answer"].tolist() == stored["answer"].tolist()
    assert pd.to_datetime(exported["answered_at"]).tolist() == pd.to_datetime(stored["answered_at"], utc=True).tolist()
    report = survey_report(store, code)
    document = json.loads(json.dumps(report_dict(report)))
    assert document["votes"] == 6 and document["survey"]["code"] == code
    scores = document["analyses"]["all respondents"]["explainability_scores"]
    assert [row["method"] for row in scores] == ["lsft", "grad_cam"] and math.isclose(scores[0]["human_preference"], 4 / 6)
    written = write_report(report, tmp_path / "out")
    assert sorted(p.name for p in written if p.suffix == ".html") == sorted(
        f"{chart}_{who}.html" for chart in ("questions", "preference", "bradley_terry", "response_times") for who in ("all", "attentive")
    )
