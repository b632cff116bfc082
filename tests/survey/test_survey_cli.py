"""Survey commands as a user runs them: survey-demo, survey-create from image files, surveys, survey-status, survey-report."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from xai_core.cli import main
from xai_core.survey.repository import SurveyStore


@pytest.fixture
def run_cli(cli, monkeypatch, tmp_path):
    """The command line (in process, see ``cli``) on a SQLite survey store in ``tmp_path``."""
    monkeypatch.delenv("XAI_STUDIO_DATABASE_URL", raising=False)
    return lambda *args: cli(*args, env={"XAI_STUDIO_DATA_DIR": str(tmp_path)})


def answer_everything(store: SurveyStore, code: str, respondents: int, choices: list[str]) -> None:
    for r in range(respondents):
        token = store.join(code)
        store.consent(code, token)
        while (question := store.next_question(code, token)) is not None:
            store.record_answer(
                code,
                token,
                question.position,
                choices[(r + question.position) % len(choices)],
                comment='it\'s "odd", <b>bold</b>' if question.position == 1 else "",
            )
        store.complete(code, token)


def test_demo_survey_is_one_command_and_the_report_matches_the_database(tmp_path, run_cli):
    created = run_cli("survey-demo", "--quiet")
    assert created.returncode == 0, created.stderr
    summary = json.loads(created.stdout[: created.stdout.rindex("}") + 1])
    assert summary["status"] == "open" and summary["questions"] == 22
    assert summary["share_link"] == f"http://localhost:8501/survey?code={summary['code']}"

    store = SurveyStore(f"sqlite:///{tmp_path}/surveys.sqlite")
    survey = store.survey(summary["code"])
    assert survey.methods == ["lsft", "grad_cam"] and survey.dataset == "mnist"
    answer_everything(store, survey.code, 3, ["left", "right", "equal", "left"])

    listed = run_cli("surveys", "--json")
    assert json.loads(listed.stdout)[0] | {"created_at": None} == {
        "code": survey.code,
        "title": survey.title,
        "status": "open",
        "methods": ["lsft", "grad_cam"],
        "questions": 22,
        "respondents": 3,
        "completed": 3,
        "votes": 66,
        "created_at": None,
    }

    report = run_cli("survey-report", survey.code, "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    assert "LSFT-GAN vs Grad-CAM" in report.stdout and "binomial p" in report.stdout and "wrote 10 files" in report.stdout
    exported = pd.read_csv(tmp_path / "report" / "responses.csv", keep_default_na=False)
    stored = store.responses(survey.code)
    assert len(exported) == len(stored) == 66
    for column in ("response_id", "respondent", "question", "kind", "left_method", "right_method", "choice", "answer", "comment"):
        assert exported[column].tolist() == stored[column].tolist(), column
    assert np.allclose(exported["response_seconds"], stored["response_seconds"])
    analysis = json.loads((tmp_path / "report" / "analysis.json").read_text())
    assert set(analysis["analyses"]) == {"all respondents", "passed attention checks"}
    counts = analysis["analyses"]["all respondents"]["pairwise"][0]
    regular = stored[stored.kind == "question"]
    assert (counts["wins_a"], counts["wins_b"], counts["ties"]) == tuple(int((regular.answer == a).sum()) for a in ("a", "b", "equal"))

    closed = run_cli("survey-status", survey.code, "closed")
    assert closed.stdout.strip() == f"{survey.code}: closed" and store.survey(survey.code).status == "closed"


def test_survey_from_image_files_and_clear_errors(tmp_path, monkeypatch, capsys, run_cli):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((40, 30), 200, np.uint8)).save(folder / "grey.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "black.jpg")
    (folder / "notes.txt").write_text("not an image")
    created = run_cli(
        "survey-create",
        "--images",
        str(folder),
        "--methods",
        "grad_cam",
        "saliency",
        "--questions",
        "2",
        "--attention-checks",
        "0",
        "--title",
        "Uploads",
        "--quiet",
    )
    assert created.returncode == 0, created.stderr
    code = json.loads(created.stdout[: created.stdout.rindex("}") + 1])["code"]
    assert f"survey-status {code} open" in created.stdout
    store = SurveyStore(f"sqlite:///{tmp_path}/surveys.sqlite")
    assert [s.details["source"] for s in store.stimuli(code)] == ["black.jpg", "grey.png"]

    monkeypatch.setenv("XAI_STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("XAI_STUDIO_DATABASE_URL", raising=False)
    for args, message in [
        (["survey-status", "NOPE1234", "open"], "error: no survey has the code 'NOPE1234'"),
        (["survey-create", "--methods", "grad_cam", "--quiet"], "error: choose at least two different methods"),
        (["survey-create", "--images", str(tmp_path / "missing"), "--quiet"], "does not exist"),
    ]:
        assert main(args) == 2
        assert message in capsys.readouterr().err
