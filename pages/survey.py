"""Take a survey (respondents, through a share link ``/survey?code=...``): consent, instructions, then
questions one by one (a captioning question shows the generated caption with the explained word highlighted
above the image), then a completion code. The respondent's pseudonymous id is kept in the URL
(``rid``), so a refresh continues where they left off; Prolific's PROLIFIC_PID / STUDY_ID / SESSION_ID
parameters are recorded when present."""

import streamlit as st

from pages.common import keys
from pages.common.sidebar import ensure_app_router
from pages.common.survey import caption_markdown, survey_store
from xai_core.survey.access import PROLIFIC_COMPLETION_URL
from xai_core.survey.repository import MAX_COMMENT_CHARACTERS, Participant, RespondentNotFound, SurveyError

CHOICE_LABELS = {"left": "A", "right": "B", "equal": "Equally good"}
CONFIDENCE_LABELS = {1: "1 · guessing", 2: "2", 3: "3", 4: "4", 5: "5 · certain"}
CLASSIFICATION_QUESTION = "Which explanation makes the network's decision easier to understand?"
CAPTIONING_QUESTION = "Which explanation better shows what the network looked at when it wrote the highlighted word?"
STIMULI = "survey_stimuli"  # the container of the image and the two explanations
# On a phone (Streamlit stacks columns below 640 px) the image takes a row of its own, at most 60 % wide, and the two
# explanations share the next row, so both are on screen together and the page never scrolls sideways.
PHONE_LAYOUT = f"""<style>
@media (max-width: 640px) {{
  .st-key-{STIMULI} [data-testid="stHorizontalBlock"] {{ flex-flow: row wrap; gap: 0.5rem; }}
  .st-key-{STIMULI} [data-testid="stColumn"] {{ flex: 1 1 calc(50% - 0.25rem); width: calc(50% - 0.25rem); min-width: 0; }}
  .st-key-{STIMULI} [data-testid="stColumn"]:first-child {{ flex: 1 1 100%; width: 100%; max-width: 60%; margin: 0 auto; }}
}}
</style>"""

ensure_app_router()
store = survey_store()
code = st.query_params.get("code", "").strip().upper()
if not code:
    st.title("Take a survey")
    st.text_input("Survey code (from your invitation link)", key=keys.SURVEY_CODE_INPUT, max_chars=32)
    st.button(
        "Start",
        type="primary",
        key="survey_code_start",
        on_click=lambda: st.query_params.update(code=st.session_state[keys.SURVEY_CODE_INPUT].strip().upper()),
    )
    st.stop()


def stop_with(message: str, kind: str = "error") -> None:
    getattr(st, kind)(message)
    st.stop()


try:
    survey = store.survey(code)
except SurveyError as error:
    stop_with(f"{error}. Please check the link you were given.")
st.title(survey.title)
if survey.status != "open":
    stop_with("This survey is not open yet." if survey.status == "draft" else "This survey is closed. Thank you for your interest.", "info")


def show_completion(completion_code: str) -> None:
    st.success("Thank you: your answers are saved.")
    st.markdown(f"Your completion code: **`{completion_code}`**")
    if st.query_params.get("PROLIFIC_PID"):
        st.link_button("Return to Prolific", PROLIFIC_COMPLETION_URL.format(code=completion_code), type="primary")
    st.stop()


def participant() -> Participant:
    return Participant(*(st.query_params.get(name) or None for name in ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")))


def known_respondent() -> str | None:
    """This browser's respondent: the id in the URL when it belongs to this survey, else the respondent of a Prolific
    id seen before, else None (nobody is registered before they consent)."""
    token = st.query_params.get("rid")
    if token:
        try:
            store.respondent(code, token)
            return token
        except RespondentNotFound:
            del st.query_params["rid"]
    pid = participant().prolific_pid
    token = store.prolific_respondent(code, pid) if pid else None
    if token:
        st.query_params["rid"] = token
    return token


def agree(token: str | None) -> None:
    """Register a new respondent with their consent, or record the consent of a known one."""
    if token is None:
        st.query_params["rid"] = store.join(code, participant(), consent=True)
    else:
        store.consent(code, token)


def submit(position: int) -> None:
    choice = st.session_state.get(f"{keys.SURVEY_ANSWER}_{position}")
    if choice is None:
        st.session_state[keys.SURVEY_MESSAGE] = "Choose A, B or Equally good first."
        return
    try:
        store.record_answer(
            code,
            token,
            position,
            choice,
            st.session_state.get(f"{keys.SURVEY_CONFIDENCE}_{position}"),
            st.session_state.get(f"{keys.SURVEY_COMMENT}_{position}", ""),
        )
    except (SurveyError, ValueError) as error:
        st.session_state[keys.SURVEY_MESSAGE] = str(error)


try:
    token = known_respondent()
    state = None if token is None else store.respondent(code, token)
    if state is None or not state.consented:
        st.subheader("Consent")
        st.markdown(survey.consent_text)
        yes, no = st.columns(2)
        yes.button("I agree and want to take part", type="primary", key="survey_consent", on_click=agree, args=(token,))
        no.button("I do not agree", key="survey_decline", on_click=st.session_state.__setitem__, args=(keys.SURVEY_DECLINED, "declined"))
        if st.session_state.get(keys.SURVEY_DECLINED) == "declined":
            st.info("You have not taken part and nothing was recorded. You can close this page.")
        st.stop()
    if state.completed:
        show_completion(store.complete(code, token))
    instructions_read = f"{keys.SURVEY_INSTRUCTIONS_READ}_{code}_{token}"
    if state.answered == 0 and not st.session_state.get(instructions_read):
        st.subheader("Instructions")
        st.markdown(survey.instructions)
        st.button("Begin", type="primary", key="survey_begin", on_click=st.session_state.__setitem__, args=(instructions_read, True))
        st.stop()
    question = store.next_question(code, token)
    if question is None:
        show_completion(store.complete(code, token))
except SurveyError as error:
    stop_with(str(error))

st.progress(state.answered / state.total, text=f"Question {question.number} of {question.total}")
captioning = question.word_position is not None
if captioning:
    st.markdown(f"Caption: {caption_markdown(question.caption, question.word_position)}")
st.html(PHONE_LAYOUT)
with st.container(key=STIMULI):
    image, left, right = st.columns(3)
image.image(question.image_png, caption="The image", width="stretch")
left.image(question.left_png, caption="Explanation A", width="stretch")
right.image(question.right_png, caption="Explanation B", width="stretch")
st.radio(
    CAPTIONING_QUESTION if captioning else CLASSIFICATION_QUESTION,
    list(CHOICE_LABELS),
    index=None,
    format_func=CHOICE_LABELS.get,
    horizontal=True,
    key=f"{keys.SURVEY_ANSWER}_{question.position}",
)
st.radio(
    "How confident are you? (optional)",
    list(CONFIDENCE_LABELS),
    index=None,
    format_func=CONFIDENCE_LABELS.get,
    horizontal=True,
    key=f"{keys.SURVEY_CONFIDENCE}_{question.position}",
)
st.text_area("Comment (optional)", max_chars=MAX_COMMENT_CHARACTERS, key=f"{keys.SURVEY_COMMENT}_{question.position}")
st.button(
    "Next" if question.number < question.total else "Finish",
    type="primary",
    key=f"survey_submit_{question.position}",
    on_click=submit,
    args=(question.position,),
)
if message := st.session_state.pop(keys.SURVEY_MESSAGE, None):
    st.warning(message)
