"""What the survey pages share: the database (one store per process), the admin sign-in, a survey picker, and a
captioning question's caption with its word highlighted."""

from __future__ import annotations

import re

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from xai_core.survey.access import ADMIN_PASSWORD_VARIABLE, configured_admin_password, password_matches
from xai_core.survey.repository import SurveyError, SurveyInfo, SurveyStore, database_url

from . import keys


@st.cache_resource(show_spinner="Opening the survey database ...")
def cached_store(url: str) -> SurveyStore:
    return SurveyStore(url)


def survey_store() -> SurveyStore:
    """The configured database, or an error message and a stop."""
    try:
        return cached_store(database_url())
    except (SurveyError, SQLAlchemyError, OSError) as error:
        st.error(f"The survey database cannot be opened: {error}")
        st.stop()


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises its own not-found error type  # noqa: BLE001
        return {}


def _sign_in(expected: str) -> None:
    if password_matches(st.session_state.get("survey_admin_password", ""), expected):
        st.session_state[keys.SURVEY_ADMIN] = True
    else:
        st.session_state["survey_admin_refused"] = True
    st.session_state["survey_admin_password"] = ""


def require_admin() -> None:
    """Stop the page unless this browser session signed in with the admin password."""
    if st.session_state.get(keys.SURVEY_ADMIN):
        return
    expected = configured_admin_password(_secrets())
    if not expected:
        st.error(
            f"Survey administration is switched off: no admin password is set. Start the app with "
            f'`{ADMIN_PASSWORD_VARIABLE}=<password> make run`, or put `admin_password = "..."` in '
            "`.streamlit/secrets.toml`."
        )
        st.stop()
    st.text_input("Admin password", type="password", key="survey_admin_password")
    st.button("Sign in", type="primary", on_click=_sign_in, args=(expected,), key="survey_admin_sign_in")
    if st.session_state.pop("survey_admin_refused", False):
        st.error("Wrong password.")
    st.stop()


def pick_survey(store: SurveyStore, label: str = "Survey") -> SurveyInfo | None:
    """A selectbox over every survey (newest first); None, with a hint, when there are none."""
    surveys = {survey.code: survey for survey in store.list_surveys()}
    if not surveys:
        st.info("No survey yet: create one on the Survey admin page, or run `python -m xai_core survey-demo`.")
        return None
    if st.session_state.get(keys.SURVEY_SELECTED) not in surveys:
        st.session_state[keys.SURVEY_SELECTED] = next(iter(surveys))
    code = st.selectbox(
        label, list(surveys), key=keys.SURVEY_SELECTED, format_func=lambda c: f"{surveys[c].title} [{c}, {surveys[c].status}]"
    )
    return surveys[code]


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown / Streamlit directive character backslash-escaped, so it shows verbatim."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>:$])", r"\\\1", text)


def caption_markdown(caption: str, word_position: int) -> str:
    """A generated caption as Markdown with word ``word_position`` (of ``caption.split()``) bold on an orange background."""
    words = [escape_markdown(word) for word in caption.split()]
    words[word_position] = f"**:orange-background[{words[word_position]}]**"
    return " ".join(words)
