"""The survey store on a throwaway PostgreSQL server (see ``postgres_server`` in conftest; skipped when the server
binaries are missing). The concurrency tests in ``test_concurrency.py`` also run here through ``backend_url``."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from tests.survey.conftest import answer_all, make_survey, respondent_participant
from xai_core.survey.repository import DATABASE_URL_VARIABLE, SCHEMA_VERSION, SurveyDatabaseError, SurveyNotOpen, SurveyStore
from xai_core.survey.schema import Base


@pytest.fixture
def postgres_store(postgres_url):
    store = SurveyStore(postgres_url)
    yield store
    store.dispose()


def test_full_respondent_flow_on_postgres(postgres_store):
    code = make_survey(postgres_store, questions=5, attention=1)
    token = postgres_store.join(code, respondent_participant(5))
    assert postgres_store.join(code, respondent_participant(5)) == token
    shown = answer_all(postgres_store, code, token, respondent_number=5)
    assert sorted(shown) == [1, 2, 3, 4, 5, 6]
    assert postgres_store.complete(code, token) == postgres_store.survey(code).completion_code

    state = postgres_store.respondent(code, token)
    assert (state.consented, state.completed, state.answered, state.total) == (True, True, 6, 6)
    progress = postgres_store.progress(code)
    assert (progress.respondents, progress.consented, progress.completed, progress.responses, progress.questions) == (1, 1, 1, 6, 6)
    votes = postgres_store.responses(code).sort_values("question")
    assert votes["question"].tolist() == [1, 2, 3, 4, 5, 6]
    assert votes["prolific_pid"].unique().tolist() == ["PID0005"]
    assert votes["choice"].tolist() == ["left", "right", "equal", "left", "right", "equal"]
    assert votes["attention_passed"].isna().tolist() == [True] * 5 + [False]
    assert bool(votes["attention_passed"].iloc[5])  # "equal" on the identical maps passes the check
    assert (votes["answered_at"] >= votes["shown_at"]).all()

    postgres_store.set_status(code, "closed")
    with pytest.raises(SurveyNotOpen):
        postgres_store.next_question(code, token)
    postgres_store.delete_survey(code)
    with postgres_store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM responses")).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM question_views")).scalar_one() == 0


def test_postgres_refuses_a_newer_schema_and_leaves_it_unchanged(postgres_url):
    store = SurveyStore(postgres_url)
    assert store.schema_version == SCHEMA_VERSION
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE schema_info SET version = :version"), {"version": SCHEMA_VERSION + 1})
        connection.execute(text("DROP TABLE question_views"))  # a newer schema without this table
    tables_before = set(inspect(store.engine).get_table_names())
    store.dispose()

    with pytest.raises(SurveyDatabaseError, match="newer"):
        SurveyStore(postgres_url)
    assert set(inspect(store.engine).get_table_names()) == tables_before
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM schema_info")).scalar_one() == SCHEMA_VERSION + 1
    store.dispose()


def test_environment_url_selects_postgres(postgres_url, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_VARIABLE, postgres_url)
    store = SurveyStore()
    try:
        assert store.engine.dialect.name == "postgresql"
        assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())
        code = make_survey(store, questions=2)
        assert store.survey(code).questions == 2
    finally:
        store.dispose()
