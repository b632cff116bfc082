"""Survey pages through AppTest: a respondent's whole visit (consent, instructions, every question, completion code),
resuming after a refresh, Prolific ids, a captioning question's highlighted word, admin sign-in, links that do not fit,
creating a classification and a captioning survey through the admin form, and the results page (charts, statistics,
comments shown as data, the CSV download)."""

import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pages.common import keys
from pages.common.survey import caption_markdown
from tests.conftest import png_bytes
from xai_core.survey.access import ADMIN_PASSWORD_VARIABLE
from xai_core.survey.design import CAPTIONING_CONSENT, CAPTIONING_INSTRUCTIONS
from xai_core.survey.export import responses_csv
from xai_core.survey.repository import DATA_DIR_VARIABLE, DATABASE_URL_VARIABLE, Participant, StimulusData, SurveyStore, database_url
from xai_core.survey.schema import Respondent

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120
PASSWORD = "page-test-password"
TITLE = "Which map explains the digit?"
CONSENT = "You agree to take part in the page test."
INSTRUCTIONS = "Pick the clearer heat map."
SCRIPT_COMMENT = "<script>alert(1)</script>"
INJECTION_COMMENT = "'); DROP TABLE responses; --"
LONG_COMMENT = "long comment " * 769 + "end"  # 10,000 characters


def tiny_png(seed: int) -> bytes:
    """A decodable 8x8 RGB PNG whose pixels depend on ``seed``."""
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8))


def png_stimuli(questions: int, attention: int = 0) -> list[StimulusData]:
    """``questions`` lsft-vs-grad_cam questions, then ``attention`` identical-maps checks (expected "equal"); every
    image a real PNG."""
    stimuli = [
        StimulusData("question", "lsft", "grad_cam", tiny_png(3 * p), tiny_png(3 * p + 1), tiny_png(3 * p + 2)) for p in range(questions)
    ]
    for p in range(questions, questions + attention):
        same_map = tiny_png(3 * p + 1)
        stimuli.append(StimulusData("attention_identical", "lsft", "lsft", tiny_png(3 * p), same_map, same_map, expected_answer="equal"))
    return stimuli


def png_survey(store: SurveyStore, questions: int = 3, attention: int = 0, status: str = "open", title: str = TITLE) -> str:
    """A survey of ``png_stimuli`` in ``status`` ("draft", "open" or "closed"); returns its code."""
    code = store.create_survey(
        title, ["lsft", "grad_cam"], png_stimuli(questions, attention), consent_text=CONSENT, instructions=INSTRUCTIONS
    )
    if status != "draft":
        store.set_status(code, "open")
    if status == "closed":
        store.set_status(code, "closed")
    return code


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store the pages open: a fresh SQLite file per test (the pages cache one store per URL)."""
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    monkeypatch.delenv(ADMIN_PASSWORD_VARIABLE, raising=False)
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path))
    survey_store = SurveyStore(database_url())
    yield survey_store
    survey_store.dispose()


@pytest.fixture
def admin_password(monkeypatch) -> str:
    monkeypatch.setenv(ADMIN_PASSWORD_VARIABLE, PASSWORD)
    return PASSWORD


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """{media file id: data} of everything the app hands to the media storage (download buttons, images)."""
    captured = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        captured[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return captured


def open_page(page: str, **query: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(query)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def shown_text(app: AppTest) -> str:
    """Every text the page shows in markdown, captions, titles, headers, code and alert elements."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "code", "success", "info", "warning", "error")
    return "\n".join(str(element.value) for kind in kinds for element in app.get(kind))


def progress_text(app: AppTest) -> str:
    return app.get("progress")[0].proto.text


def begin(app: AppTest) -> AppTest:
    """Consent, then leave the instructions: the first question is on screen."""
    assert app.subheader[0].value == "Consent" and CONSENT in shown_text(app)
    app.button(key="survey_consent").click().run()
    assert app.subheader[0].value == "Instructions" and INSTRUCTIONS in shown_text(app)
    app.button(key="survey_begin").click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def shown_position(app: AppTest) -> int:
    """The stimulus position of the question on screen (from its answer radio's key)."""
    (answer_key,) = [radio.key for radio in app.radio if radio.key.startswith(f"{keys.SURVEY_ANSWER}_")]
    return int(answer_key.rsplit("_", 1)[1])


def answer(app: AppTest, choice: str, confidence: int | None = None, comment: str = "") -> int:
    """Answer the question on screen and submit it; returns its position."""
    position = shown_position(app)
    app.radio(key=f"{keys.SURVEY_ANSWER}_{position}").set_value(choice)
    if confidence is not None:
        app.radio(key=f"{keys.SURVEY_CONFIDENCE}_{position}").set_value(confidence)
    if comment:
        app.text_area(key=f"{keys.SURVEY_COMMENT}_{position}").input(comment)
    app.button(key=f"survey_submit_{position}").click().run()
    assert not app.exception, [e.message for e in app.exception]
    return position


def sign_in(app: AppTest, password: str) -> AppTest:
    app.text_input(key="survey_admin_password").input(password)
    app.button(key="survey_admin_sign_in").click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def respondents(store: SurveyStore) -> list[Respondent]:
    with Session(store.engine) as session:
        return list(session.scalars(select(Respondent).order_by(Respondent.id)))


# ---- respondents ----------------------------------------------------------------------------------------------
def test_a_respondent_answers_every_question_and_gets_the_completion_code(store):
    code = png_survey(store, questions=3, attention=1)
    app = open_page("pages/survey.py", code=code)
    assert app.title[0].value == TITLE
    assert "rid" not in app.query_params and respondents(store) == []  # nobody is registered before consenting
    begin(app)
    token = app.query_params["rid"]
    assert [r.token for r in respondents(store)] == [token] and respondents(store)[0].consented_at is not None

    first = shown_position(app)
    assert progress_text(app) == "Question 1 of 4"
    app.button(key=f"survey_submit_{first}").click().run()
    assert [w.value for w in app.warning] == ["Choose A, B or Equally good first."]
    assert store.responses(code).empty and progress_text(app) == "Question 1 of 4"

    choices = ["left", "right", "equal", "equal"]
    answered = [answer(app, choices[0], confidence=5, comment="first thoughts")]
    for number, choice in enumerate(choices[1:], start=2):
        assert progress_text(app) == f"Question {number} of 4" and not app.warning
        answered.append(answer(app, choice))

    completion_code = store.survey(code).completion_code
    assert [s.value for s in app.success] == ["Thank you: your answers are saved."]
    assert f"`{completion_code}`" in shown_text(app)
    assert app.query_params["rid"] == token
    votes = store.responses(code)
    assert sorted(votes["question"]) == [1, 2, 3, 4] and list(votes["question"]) == answered
    assert set(votes["respondent"]) == {token}
    assert list(votes["choice"]) == choices
    assert list(votes["confidence"].fillna(0)) == [5, 0, 0, 0]  # confidence is optional
    assert list(votes["comment"]) == ["first thoughts", "", "", ""]
    assert store.progress(code).completed == 1


def test_a_refresh_resumes_at_the_next_question_without_asking_consent_again(store):
    code = png_survey(store, questions=4)
    app = begin(open_page("pages/survey.py", code=code))
    token = app.query_params["rid"]
    answered = [answer(app, "left"), answer(app, "right")]

    refreshed = open_page("pages/survey.py", code=code, rid=token)
    assert refreshed.query_params["rid"] == token
    assert "Consent" not in [h.value for h in refreshed.subheader]
    assert [b.key for b in refreshed.button] == [f"survey_submit_{shown_position(refreshed)}"]
    assert progress_text(refreshed) == "Question 3 of 4"
    assert shown_position(refreshed) not in answered
    assert len(store.responses(code)) == 2


def test_prolific_ids_are_stored_and_the_same_pid_resumes_the_same_respondent(store):
    code = png_survey(store, questions=3)
    prolific = {"PROLIFIC_PID": "abc", "STUDY_ID": "s", "SESSION_ID": "t"}
    app = begin(open_page("pages/survey.py", code=code, **prolific))
    token = app.query_params["rid"]
    answer(app, "equal")
    assert list(store.responses(code)["prolific_pid"]) == ["abc"]
    (respondent,) = respondents(store)
    assert (respondent.token, respondent.prolific_pid, respondent.study_id, respondent.session_id) == (token, "abc", "s", "t")

    again = open_page("pages/survey.py", code=code, **prolific)
    assert again.query_params["rid"] == token
    assert progress_text(again) == "Question 2 of 3"
    assert len(respondents(store)) == 1


def test_a_finished_prolific_respondent_gets_the_link_back_to_prolific(store):
    code = png_survey(store, questions=1)
    app = begin(open_page("pages/survey.py", code=code, PROLIFIC_PID="abc", STUDY_ID="s", SESSION_ID="t"))
    answer(app, "left")
    (link,) = app.get("link_button")
    assert link.proto.label == "Return to Prolific"
    assert link.proto.url == f"https://app.prolific.com/submissions/complete?cc={store.survey(code).completion_code}"


def test_declining_consent_registers_nobody(store):
    code = png_survey(store, questions=2)
    app = open_page("pages/survey.py", code=code, PROLIFIC_PID="abc")
    app.button(key="survey_decline").click().run()
    assert [i.value for i in app.info] == ["You have not taken part and nothing was recorded. You can close this page."]
    assert respondents(store) == [] and "rid" not in app.query_params


def test_a_captioning_question_shows_the_caption_with_the_explained_word_highlighted(store):
    caption = "a red star left of a blue circle"
    stimuli = [
        dataclasses.replace(stimulus, details={"caption": caption, "word_position": 2 + 2 * p}) for p, stimulus in enumerate(png_stimuli(2))
    ]
    code = store.create_survey(TITLE, ["lsft", "grad_cam"], stimuli, consent_text=CONSENT, instructions=INSTRUCTIONS)
    store.set_status(code, "open")
    app = begin(open_page("pages/survey.py", code=code))
    for _ in stimuli:
        position = shown_position(app)
        word = caption.split()[2 + 2 * (position - 1)]
        expected = caption.replace(f" {word} ", f" **:orange-background[{word}]** ")
        assert caption_markdown(caption, 2 + 2 * (position - 1)) == expected
        assert [m.value for m in app.markdown if m.value.startswith("Caption: ")] == [f"Caption: {expected}"]
        assert app.radio(key=f"{keys.SURVEY_ANSWER}_{position}").label == (
            "Which explanation better shows what the network looked at when it wrote the highlighted word?"
        )
        assert len(app.get("image")) == 3
        answer(app, "left")
    assert [s.value for s in app.success] == ["Thank you: your answers are saved."]


def test_another_surveys_respondent_id_starts_a_new_respondent(store):
    survey_a, survey_b = png_survey(store, questions=3), png_survey(store, questions=3, title="Survey B")
    token_a = store.join(survey_a, Participant())
    store.consent(survey_a, token_a)
    store.record_answer(survey_a, token_a, 1, "left")

    app = open_page("pages/survey.py", code=survey_b, rid=token_a)
    assert "rid" not in app.query_params
    assert app.title[0].value == "Survey B" and app.subheader[0].value == "Consent"
    assert not app.get("progress")
    token_b = begin(app).query_params["rid"]
    assert token_b != token_a
    assert store.respondent(survey_b, token_b).answered == 0 and store.respondent(survey_a, token_a).answered == 1


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        ("draft", "info", "This survey is not open yet."),
        ("closed", "info", "This survey is closed. Thank you for your interest."),
    ],
)
def test_a_draft_or_closed_survey_takes_no_respondents(store, status, kind, message):
    code = png_survey(store, status=status)
    app = open_page("pages/survey.py", code=code)
    assert [element.value for element in app.get(kind)] == [message]
    assert not app.button and not app.radio and "rid" not in app.query_params
    assert respondents(store) == []


def test_an_unknown_code_is_an_error(store):
    app = open_page("pages/survey.py", code="NOSUCH22")
    assert [e.value for e in app.error] == ["no survey has the code 'NOSUCH22'. Please check the link you were given."]
    assert not app.button and respondents(store) == []


# ---- admin access -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["pages/survey_admin.py", "pages/survey_results.py"])
def test_admin_pages_are_switched_off_without_a_password(store, page):
    code = png_survey(store)
    app = open_page(page)
    assert len(app.error) == 1 and app.error[0].value.startswith("Survey administration is switched off")
    assert not app.text_input and not app.selectbox and not app.dataframe
    assert code not in shown_text(app) and TITLE not in shown_text(app)


@pytest.mark.parametrize("page", ["pages/survey_admin.py", "pages/survey_results.py"])
def test_admin_pages_need_the_right_password(store, admin_password, page):
    code = png_survey(store)
    app = open_page(page)
    assert [w.key for w in app.text_input] == ["survey_admin_password"]
    assert [b.key for b in app.button] == ["survey_admin_sign_in"]
    assert not app.selectbox and not app.dataframe and not app.error
    assert code not in shown_text(app) and TITLE not in shown_text(app)

    sign_in(app, "not the password")
    assert [e.value for e in app.error] == ["Wrong password."]
    assert not app.selectbox and code not in shown_text(app)

    sign_in(app, admin_password)
    assert not app.error and "survey_admin_password" not in [w.key for w in app.text_input]
    survey_picker = app.selectbox(key=keys.SURVEY_SELECTED)
    assert survey_picker.options == [f"{TITLE} [{code}, open]"] and survey_picker.value == code


# ---- admin: creating a survey -----------------------------------------------------------------------------------
def test_an_admin_creates_previews_and_opens_a_survey(store, admin_password):
    app = sign_in(open_page("pages/survey_admin.py"), admin_password)
    assert [i.value for i in app.info] == ["No survey yet: create one on the Survey admin page, or run `python -m xai_core survey-demo`."]
    assert app.selectbox(key=keys.SURVEY_MODEL).value == "vgg-mnist" and app.selectbox(key=keys.SURVEY_DATASET).value == "mnist"
    assert app.multiselect(key=keys.SURVEY_METHODS).value == ["lsft", "grad_cam"]
    app.number_input(key=keys.SURVEY_QUESTIONS).set_value(3)
    app.number_input(key=keys.SURVEY_ATTENTION_CHECKS).set_value(1)
    app.button(key="survey_create").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    (survey,) = store.list_surveys()
    assert [s.value for s in app.success] == [f"Survey {survey.code} created as a draft: preview it, then open it."]
    assert (survey.status, survey.questions, survey.methods, survey.model_id, survey.dataset) == (
        "draft",
        4,
        ["lsft", "grad_cam"],
        "vgg-mnist",
        "mnist",
    )
    assert sorted(s.kind for s in store.stimuli(survey.code)) == ["attention_noise", "question", "question", "question"]
    share_code = [c.value for c in app.code]
    assert share_code[0].endswith(f"/survey?code={survey.code}")
    assert share_code[1].startswith(share_code[0] + "&PROLIFIC_PID=")
    (preview,) = app.expander
    assert preview.label == "Preview the 4 questions (method names are hidden from respondents)"
    assert sum(len(images.proto.imgs) for images in preview.get("image")) == 4 * 3
    assert app.button(key="survey_open").disabled is False and app.button(key="survey_close").disabled is True

    app.button(key="survey_open").click().run()
    assert store.survey(survey.code).status == "open"
    assert app.button(key="survey_open").disabled is True and app.button(key="survey_close").disabled is False
    assert "**Status:** open" in shown_text(app)


def test_an_admin_creates_a_captioning_survey(store, admin_password, one_torch_thread):
    app = sign_in(open_page("pages/survey_admin.py"), admin_password)
    app.radio(key=keys.SURVEY_TASK).set_value("captioning").run()
    assert app.selectbox(key=keys.SURVEY_CAPTIONER).value == "captioner-resnet"
    assert app.multiselect(key=keys.SURVEY_CAPTION_METHODS).value == ["lsft", "grad_cam"]
    assert keys.SURVEY_MODEL not in [widget.key for widget in app.selectbox]
    assert app.number_input(key=keys.SURVEY_QUESTIONS).value == 10  # the task's defaults replace the untouched fields
    assert app.text_input(key=keys.SURVEY_TITLE).value == "Which map shows what the captioner looked at?"
    assert (app.text_area(key=keys.SURVEY_CONSENT).value, app.text_area(key=keys.SURVEY_INSTRUCTIONS).value) == (
        CAPTIONING_CONSENT,
        CAPTIONING_INSTRUCTIONS,
    )
    app.number_input(key=keys.SURVEY_QUESTIONS).set_value(1)
    app.number_input(key=keys.SURVEY_ATTENTION_CHECKS).set_value(0)
    app.button(key="survey_create").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    (survey,) = store.list_surveys()
    assert [s.value for s in app.success] == [f"Survey {survey.code} created as a draft: preview it, then open it."]
    assert (survey.settings["task"], survey.model_id, survey.dataset, survey.methods, survey.questions) == (
        "captioning",
        "captioner-resnet",
        "captioning",
        ["lsft", "grad_cam"],
        1,
    )
    assert "**task:** captioning" in shown_text(app)
    (stimulus,) = store.stimuli(survey.code)
    details = stimulus.details
    assert stimulus.kind == "question" and details["caption"].split()[details["word_position"]] == details["word"]
    assert caption_markdown(details["caption"], details["word_position"]) in shown_text(app)
    (preview,) = app.expander
    assert sum(len(images.proto.imgs) for images in preview.get("image")) == 3


# ---- results ------------------------------------------------------------------------------------------------------
def vote_all(
    store: SurveyStore, code: str, choices: dict[int, str], comments: dict[int, str] | None = None, participant: Participant = Participant()
) -> str:
    """One respondent answers every question with ``choices[position]`` (comments by position) and completes."""
    token = store.join(code, participant)
    store.consent(code, token)
    while (question := store.next_question(code, token)) is not None:
        store.record_answer(code, token, question.position, choices[question.position], 3, (comments or {}).get(question.position, ""))
    store.complete(code, token)
    return token


def test_the_results_page_shows_charts_statistics_and_comments_as_data(store, admin_password, downloads):
    code = png_survey(store, questions=3, attention=1)
    vote_all(
        store,
        code,
        {1: "left", 2: "left", 3: "right", 4: "equal"},
        {1: SCRIPT_COMMENT, 2: LONG_COMMENT, 3: INJECTION_COMMENT},
        Participant("pid-1", "s", "t"),
    )
    vote_all(store, code, {1: "right", 2: "equal", 3: "left", 4: "left"})
    vote_all(store, code, {1: "left", 2: "right", 3: "left", 4: "equal"}, {4: "fine"})

    app = sign_in(open_page("pages/survey_results.py"), admin_password)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert [h.value for h in app.subheader][:2] == [
        "Both ways: everyone, and without respondents who failed an attention check",
        "Votes per question",
    ]
    charts = app.get("plotly_chart")
    assert len(charts) == 3  # votes per question, overall preference, response times (two methods: no Bradley-Terry)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {
        "Respondents analysed": "2",
        "Failed an attention check": "1",
        "Fleiss' kappa": metrics["Fleiss' kappa"],
        "Votes analysed": "6",
    }
    app.radio(key=keys.SURVEY_RESPONDENTS).set_value("all respondents").run()
    assert {m.label: m.value for m in app.metric}["Respondents analysed"] == "3"
    assert {m.label: m.value for m in app.metric}["Votes analysed"] == "9"

    comments = app.dataframe[-1].value
    assert app.subheader[-1].value == "Comments (4)"
    assert sorted(comments["comment"]) == sorted([SCRIPT_COMMENT, LONG_COMMENT, INJECTION_COMMENT, "fine"])
    assert "<script" not in shown_text(app)  # the page writes no comment into markdown

    csv_button = app.download_button(key="survey_download_csv")
    assert csv_button.label == "Responses (CSV)"
    served = downloads[Path(csv_button.proto.url).stem]
    assert served == responses_csv(store.responses(code))
    table, stored = pd.read_csv(io.BytesIO(served), keep_default_na=False), store.responses(code)
    assert len(table) == len(stored) == 12
    assert list(table["respondent"]) == list(stored["respondent"]) and list(table["choice"]) == list(stored["choice"])
    assert list(table["comment"]) == list(stored["comment"])
    assert LONG_COMMENT in set(table["comment"]) and len(LONG_COMMENT) == 10_000
    assert INJECTION_COMMENT in set(table["comment"]) and SCRIPT_COMMENT in set(table["comment"])
