"""SurveyStore at the store level: access control, hostile comments, idempotent requests, the per-respondent design
(question order and sides), the schema version and the database location (issue 7)."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from tests.survey.conftest import answer_all, fake_png, make_survey, respondent_participant
from xai_core.survey.repository import (
    DATA_DIR_VARIABLE,
    DATABASE_URL_VARIABLE,
    MAX_COMMENT_CHARACTERS,
    SCHEMA_VERSION,
    SQLITE_FILE_NAME,
    Participant,
    RespondentNotFound,
    SurveyDatabaseError,
    SurveyError,
    SurveyNotFound,
    SurveyNotOpen,
    SurveyStore,
    create_database_engine,
    database_url,
)
from xai_core.survey.schema import Base, QuestionView

HOSTILE_COMMENTS = [
    "'); DROP TABLE responses; --",
    "1' OR '1'='1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "naïve café — 日本語 Ελληνικά עברית 🙂👍🏽 \u200b\t\nsecond line",
    "x" * 10_000,
    "y" * MAX_COMMENT_CHARACTERS,
]


def consented_respondent(store: SurveyStore, code: str) -> str:
    token = store.join(code)
    store.consent(code, token)
    return token


def question_views(store: SurveyStore) -> list[tuple]:
    with store.engine.connect() as connection:
        return connection.execute(select(QuestionView.stimulus_id, QuestionView.shown_at)).all()


# ---- access control ----------------------------------------------------------------------------------------------
def test_a_token_of_another_survey_is_unknown(store):
    survey_a, survey_b = make_survey(store, questions=3), make_survey(store, questions=3)
    token_a = consented_respondent(store, survey_a)
    store.record_answer(survey_a, token_a, 1, "left", comment="private to survey A")
    for request in (
        lambda: store.respondent(survey_b, token_a),
        lambda: store.consent(survey_b, token_a),
        lambda: store.next_question(survey_b, token_a),
        lambda: store.complete(survey_b, token_a),
        lambda: store.record_answer(survey_b, token_a, 1, "left"),
    ):
        with pytest.raises(RespondentNotFound) as refused:
            request()
        assert token_a not in str(refused.value) and "private" not in str(refused.value)
    assert store.responses(survey_b).empty
    assert store.responses(survey_a)["comment"].tolist() == ["private to survey A"]


def test_draft_and_closed_surveys_refuse_respondents(store):
    draft = make_survey(store, questions=3, status="draft")
    with pytest.raises(SurveyNotOpen, match="not open yet"):
        store.join(draft)

    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    position = store.next_question(code, token).position
    store.set_status(code, "closed")
    for request in (
        lambda: store.join(code),
        lambda: store.consent(code, token),
        lambda: store.next_question(code, token),
        lambda: store.record_answer(code, token, position, "left"),
    ):
        with pytest.raises(SurveyNotOpen, match="closed"):
            request()
    assert store.responses(code).empty
    store.set_status(code, "open")  # reopened: the respondent goes on where they were
    assert store.next_question(code, token).position == position


def test_unknown_codes_are_not_found(store):
    make_survey(store, questions=3)
    for request in (
        lambda: store.join("NOSUCH23"),
        lambda: store.survey("NOSUCH23"),
        lambda: store.responses("NOSUCH23"),
        lambda: store.progress("NOSUCH23"),
        lambda: store.next_question("NOSUCH23", "token"),
        lambda: store.set_status("NOSUCH23", "open"),
    ):
        with pytest.raises(SurveyNotFound):
            request()


def test_codes_are_read_case_and_space_insensitively(store):
    code = make_survey(store, questions=3)
    assert store.survey(f"  {code.lower()} ").code == code


def test_consent_comes_before_questions_and_answers(store):
    code = make_survey(store, questions=3)
    token = store.join(code)
    with pytest.raises(SurveyError, match="consent"):
        store.next_question(code, token)
    with pytest.raises(SurveyError, match="consent"):
        store.record_answer(code, token, 1, "left")
    assert question_views(store) == []
    store.consent(code, token)
    assert store.next_question(code, token).number == 1


@pytest.mark.parametrize("position", [0, -1, 4, 99])
def test_positions_outside_the_survey_are_refused(store, position):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    with pytest.raises(SurveyError, match=f"question {position} is not part of this survey"):
        store.record_answer(code, token, position, "left")
    assert store.responses(code).empty


@pytest.mark.parametrize("choice, confidence", [("up", None), ("LEFT", None), ("left", 0), ("left", 6)])
def test_invalid_choices_and_confidences_are_refused(store, choice, confidence):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    with pytest.raises(ValueError):
        store.record_answer(code, token, 1, choice, confidence=confidence)
    assert store.responses(code).empty


# ---- hostile input -----------------------------------------------------------------------------------------------
def test_hostile_comments_are_stored_verbatim(backend_store):
    code = make_survey(backend_store, questions=len(HOSTILE_COMMENTS))
    token = consented_respondent(backend_store, code)
    for position, comment in enumerate(HOSTILE_COMMENTS, start=1):
        assert backend_store.record_answer(code, token, position, "equal", comment=comment)
    votes = backend_store.responses(code).sort_values("question")
    assert votes["comment"].tolist() == HOSTILE_COMMENTS
    assert set(Base.metadata.tables) <= set(inspect(backend_store.engine).get_table_names())
    assert backend_store.progress(code).responses == len(HOSTILE_COMMENTS)


def test_hostile_participant_ids_are_stored_verbatim(backend_store):
    code = make_survey(backend_store, questions=2)
    for pid in HOSTILE_COMMENTS[:5]:
        token = backend_store.join(code, Participant(prolific_pid=pid))
        answer_all(backend_store, code, token)
    assert sorted(backend_store.responses(code)["prolific_pid"].unique()) == sorted(HOSTILE_COMMENTS[:5])
    assert backend_store.progress(code).respondents == 5


def test_a_comment_over_the_limit_is_refused(store):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    with pytest.raises(ValueError, match="at most 20,000 characters"):
        store.record_answer(code, token, 1, "left", comment="z" * (MAX_COMMENT_CHARACTERS + 1))
    assert store.responses(code).empty


# ---- idempotence -------------------------------------------------------------------------------------------------
def test_joining_twice_with_one_prolific_id_resumes(store):
    code = make_survey(store, questions=3)
    token = store.join(code, respondent_participant(1))
    store.consent(code, token)
    store.record_answer(code, token, 2, "left")
    assert store.join(code, respondent_participant(1)) == token
    assert store.join(code, respondent_participant(2)) != token
    assert store.join(code) != store.join(code)  # without a Prolific id every visit is a new respondent
    state = store.respondent(code, token)
    assert (state.consented, state.answered, state.total) == (True, 1, 3)


def test_a_prolific_id_is_looked_up_without_registering_and_joins_with_consent(store):
    code = make_survey(store, questions=2)
    assert store.prolific_respondent(code, "PID-1") is None
    assert store.progress(code).respondents == 0
    token = store.join(code, Participant("PID-1", "S", "X"), consent=True)
    assert store.prolific_respondent(code, "PID-1") == token
    assert store.respondent(code, token).consented and store.next_question(code, token) is not None
    assert store.join(code, Participant("PID-1"), consent=True) == token
    progress = store.progress(code)
    assert (progress.respondents, progress.consented) == (1, 1)


def test_a_refresh_shows_the_same_question_and_keeps_its_first_time(store):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    first = store.next_question(code, token)
    [(stimulus, first_shown)] = question_views(store)
    assert store.next_question(code, token) == first
    assert question_views(store) == [(stimulus, first_shown)]
    store.record_answer(code, token, first.position, "left")
    [shown_at] = store.responses(code)["shown_at"].tolist()
    assert shown_at.replace(tzinfo=None) == first_shown.replace(tzinfo=None)
    assert store.next_question(code, token).number == 2


def test_answering_twice_keeps_the_first_answer(store):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    position = store.next_question(code, token).position
    assert store.record_answer(code, token, position, "left", confidence=2, comment="first")
    assert not store.record_answer(code, token, position, "right", confidence=5, comment="second")
    votes = store.responses(code)
    assert votes[["question", "choice", "confidence", "comment"]].values.tolist() == [[position, "left", 2, "first"]]


def test_complete_needs_every_answer_and_is_repeatable(store):
    code = make_survey(store, questions=3)
    token = consented_respondent(store, code)
    store.record_answer(code, token, 1, "left")
    with pytest.raises(SurveyError, match="2 question"):
        store.complete(code, token)
    answer_all(store, code, token)
    completion_code = store.survey(code).completion_code
    assert store.complete(code, token) == completion_code == store.complete(code, token)
    assert store.progress(code).completed == 1


# ---- the per-respondent design -----------------------------------------------------------------------------------
def walk_survey(store: SurveyStore, code: str, token: str) -> tuple[list[int], list[bool]]:
    """Answer "left" everywhere; returns the positions in the order shown and whether method a's map was left."""
    store.consent(code, token)
    order, left_is_a = [], []
    while (question := store.next_question(code, token)) is not None:
        order.append(question.position)
        left_is_a.append(question.left_png == fake_png(f"map-a-{question.position}"))
        assert question.right_png == fake_png(f"map-{'b' if left_is_a[-1] else 'a'}-{question.position}")
        assert question.image_png == fake_png(f"image-{question.position}")
        store.record_answer(code, token, question.position, "left")
    return order, left_is_a


def test_the_same_token_and_seed_give_the_same_order_and_sides(tmp_path, monkeypatch):
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: "the-same-token")
    designs = []
    for name, seed in (("one", 7), ("two", 7), ("three", 8)):
        store = SurveyStore(f"sqlite:///{tmp_path / name}.sqlite")
        code = make_survey(store, questions=12, seed=seed)
        designs.append(walk_survey(store, code, store.join(code)))
        store.dispose()
    (order, sides), same_seed, other_seed = designs
    assert same_seed == (order, sides)
    assert sorted(order) == list(range(1, 13)) and order != sorted(order)
    assert other_seed != (order, sides)


def test_sides_are_balanced_and_answers_follow_the_side(store):
    code = make_survey(store, questions=6, seed=3)
    seen_left_is_a = {}
    orders = set()
    for _ in range(50):
        token = store.join(code)
        order, left_is_a = walk_survey(store, code, token)
        orders.add(tuple(order))
        seen_left_is_a.update({(token, position): side for position, side in zip(order, left_is_a)})
    votes = store.responses(code)
    assert len(votes) == 300 and len(orders) > 1
    left_is_a = votes["left_method"] == votes["method_a"]
    assert set(left_is_a) == {True, False}
    assert ((votes["answer"] == "a") == left_is_a).all() and ((votes["answer"] == "b") == ~left_is_a).all()
    assert (votes["right_method"] == votes["method_b"].where(left_is_a, votes["method_a"])).all()
    assert (votes["chosen_method"] == votes["left_method"]).all()
    assert left_is_a.tolist() == [seen_left_is_a[token, question] for token, question in zip(votes["respondent"], votes["question"])]


def test_questions_keep_design_order_when_shuffling_is_off(store):
    code = make_survey(store, questions=5, settings={"shuffle_questions": False})
    order, _ = walk_survey(store, code, store.join(code))
    assert order == [1, 2, 3, 4, 5]


# ---- schema and location -----------------------------------------------------------------------------------------
def test_a_fresh_database_is_stamped_and_in_wal_mode(store, sqlite_url):
    assert store.schema_version == SCHEMA_VERSION
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM schema_info")).scalars().all() == [SCHEMA_VERSION]
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    store.dispose()
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as connection:  # WAL is a property of the file
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_newer_schema_is_refused_and_the_file_left_unchanged(store, sqlite_url):
    make_survey(store, questions=3)
    store.dispose()
    path = Path(sqlite_url.split("///", 1)[1])
    connection = sqlite3.connect(path)
    connection.execute("UPDATE schema_info SET version = ?", (SCHEMA_VERSION + 1,))
    connection.execute("DROP TABLE question_views")  # a newer schema without this table
    connection.commit()
    connection.close()
    before = path.read_bytes()

    with pytest.raises(SurveyDatabaseError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        SurveyStore(sqlite_url)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_two_stores_share_one_file(store, sqlite_url):
    other = SurveyStore(sqlite_url)
    try:
        assert other.schema_version == SCHEMA_VERSION
        code = make_survey(store, questions=3)
        assert [survey.code for survey in other.list_surveys()] == [code]
        token = other.join(code)
        answer_all(other, code, token)
        assert len(store.responses(code)) == 3
        assert store.progress(code).completed == 1
    finally:
        other.dispose()


def test_database_url_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "data"))
    assert database_url() == f"sqlite:///{tmp_path / 'data' / SQLITE_FILE_NAME}"
    store = SurveyStore()
    store.dispose()
    assert (tmp_path / "data" / SQLITE_FILE_NAME).is_file()

    monkeypatch.setenv(DATABASE_URL_VARIABLE, f"sqlite:///{tmp_path / 'chosen.sqlite'}")
    assert database_url() == f"sqlite:///{tmp_path / 'chosen.sqlite'}"
    assert database_url("sqlite:///explicit.sqlite") == "sqlite:///explicit.sqlite"

    monkeypatch.setenv(DATABASE_URL_VARIABLE, "postgres://user@db.example/surveys")
    assert create_database_engine().url.drivername == "postgresql+psycopg"
