"""Survey admin (hidden page, password): create comprehensibility surveys (classification, or captioning: one word
of a generated caption per question), preview them, open and close them, share the link and watch responses come in."""

import streamlit as st

from pages.common import keys
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from pages.common.survey import caption_markdown, escape_markdown, pick_survey, require_admin, survey_store
from xai_core import CheckpointError, DatasetUnavailable, ImageDecodeError, list_datasets, list_models
from xai_core.captioning import CAPTION_METHODS, list_captioners
from xai_core.data import pil_to_tensor
from xai_core.data.decode import MAX_IMAGE_BYTES, decode_image
from xai_core.explainers import EXPLAINERS, method_label
from xai_core.survey.access import share_link
from xai_core.survey.design import (
    ATTENTION_KINDS,
    CAPTIONING_DATASET,
    CAPTIONING_DESIGN,
    MAX_QUESTIONS,
    TASK_DESIGNS,
    SurveyDesign,
    create_survey,
)
from xai_core.survey.repository import SurveyError

ensure_app_router()
keep_widget_state_across_pages()
st.title("Survey admin")
require_admin()
store = survey_store()
st.caption(f"Database: `{store.url}`")

TASK_LABELS = {"classification": "Classification", "captioning": "Captioning"}
TITLES = {"classification": "Which explanation is easier to understand?", "captioning": "Which map shows what the captioner looked at?"}
# the form fields whose default depends on the task
TASK_DEFAULTS = {
    task: {
        keys.SURVEY_TITLE: TITLES[task],
        keys.SURVEY_QUESTIONS: design.questions,
        keys.SURVEY_CONSENT: design.consent_text,
        keys.SURVEY_INSTRUCTIONS: design.instructions,
    }
    for task, design in TASK_DESIGNS.items()
}

models, captioners = list_models(), list_captioners()
defaults = {
    keys.SURVEY_TASK: "classification",
    **TASK_DEFAULTS["classification"],
    keys.SURVEY_MODEL: "vgg-mnist" if "vgg-mnist" in models else models[0],
    keys.SURVEY_IMAGE_SOURCE: "Dataset",
    keys.SURVEY_DATASET: "mnist",
    keys.SURVEY_METHODS: ["lsft", "grad_cam"],
    keys.SURVEY_CAPTIONER: (CAPTIONING_DESIGN.model_id if CAPTIONING_DESIGN.model_id in captioners else next(iter(captioners), None)),
    keys.SURVEY_CAPTION_METHODS: list(CAPTIONING_DESIGN.methods),
    keys.SURVEY_SEED: 0,
    keys.SURVEY_ATTENTION_CHECKS: 2,
    keys.SURVEY_ATTENTION_KINDS: list(ATTENTION_KINDS),
    keys.SURVEY_SHUFFLE: True,
}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)


def switch_task_defaults() -> None:
    """Fields still holding another task's default take the chosen task's; fields the admin edited stay."""
    chosen = st.session_state[keys.SURVEY_TASK]
    for task, task_defaults in TASK_DEFAULTS.items():
        for key, value in task_defaults.items():
            if task != chosen and st.session_state.get(key) == value:
                st.session_state[key] = TASK_DEFAULTS[chosen][key]


def uploaded_images() -> tuple[list, list[str]]:
    """Decoded uploads (Tensor[C,H,W] in [0,1]) and their names; a bad file is reported and skipped."""
    images, names = [], []
    for upload in st.session_state.get(keys.SURVEY_UPLOADS) or []:
        try:
            images.append(pil_to_tensor(decode_image(upload.getvalue())))
            names.append(upload.name)
        except ImageDecodeError as error:
            st.warning(f"{upload.name} was skipped: {error}")
    return images, names


def create_requested_survey() -> None:
    state = st.session_state
    if state[keys.SURVEY_TASK] == "captioning":
        task_fields = {
            "methods": tuple(state[keys.SURVEY_CAPTION_METHODS]),
            "model_id": state[keys.SURVEY_CAPTIONER],
            "dataset": CAPTIONING_DATASET,
        }
    else:
        task_fields = {
            "methods": tuple(state[keys.SURVEY_METHODS]),
            "model_id": state[keys.SURVEY_MODEL],
            "dataset": state[keys.SURVEY_DATASET] if state[keys.SURVEY_IMAGE_SOURCE] == "Dataset" else "",
        }
    design = SurveyDesign(
        title=state[keys.SURVEY_TITLE],
        **task_fields,
        questions=int(state[keys.SURVEY_QUESTIONS]),
        seed=int(state[keys.SURVEY_SEED]),
        attention_checks=int(state[keys.SURVEY_ATTENTION_CHECKS]),
        attention_kinds=tuple(state[keys.SURVEY_ATTENTION_KINDS]),
        shuffle_questions=bool(state[keys.SURVEY_SHUFFLE]),
        consent_text=state[keys.SURVEY_CONSENT],
        instructions=state[keys.SURVEY_INSTRUCTIONS],
        task=state[keys.SURVEY_TASK],
    )
    images, names = (None, None) if design.dataset else uploaded_images()
    progress = st.progress(0.0, text="Loading the model ...")
    try:
        code = create_survey(
            store, design, images, names, on_progress=lambda done, message: progress.progress(min(1.0, done), text=message)
        )
    except (ValueError, KeyError, SurveyError, CheckpointError, DatasetUnavailable) as error:
        st.error(f"The survey was not created: {error}")
        return
    finally:
        progress.empty()
    state[keys.SURVEY_SELECTED] = code
    state[keys.SURVEY_CREATED] = f"Survey {code} created as a draft: preview it, then open it."


if st.session_state.pop(keys.SURVEY_CREATE_REQUESTED, False):
    create_requested_survey()
if keys.SURVEY_CREATED in st.session_state:
    st.success(st.session_state.pop(keys.SURVEY_CREATED))

manage_tab, create_tab = st.tabs(["Surveys", "Create a survey"])

with create_tab:
    st.radio("Task", list(TASK_LABELS), format_func=TASK_LABELS.get, key=keys.SURVEY_TASK, horizontal=True, on_change=switch_task_defaults)
    captioning_task = st.session_state[keys.SURVEY_TASK] == "captioning"
    st.text_input("Title", key=keys.SURVEY_TITLE, max_chars=200)
    left, right = st.columns(2)
    if captioning_task:
        left.selectbox("Captioner", captioners, key=keys.SURVEY_CAPTIONER)
        if not captioners:
            left.warning("No captioner is installed: train one with `python -m xai_core train-captioner`.")
        left.caption(
            "Images: a seeded sample of the captioning test scenes. Each question explains one word of the "
            "captioner's own caption: mostly colour and shape words, every 4th a relation word (left, of, above, ...)."
        )
        right.multiselect(
            "Methods to compare (two or more; every pair is asked in turn)",
            list(CAPTION_METHODS),
            key=keys.SURVEY_CAPTION_METHODS,
            format_func=method_label,
        )
    else:
        left.selectbox("Model", models, key=keys.SURVEY_MODEL)
        left.radio("Images", ["Dataset", "Uploaded images"], key=keys.SURVEY_IMAGE_SOURCE, horizontal=True)
        if st.session_state[keys.SURVEY_IMAGE_SOURCE] == "Dataset":
            left.selectbox("Dataset (class-balanced sample of its test split)", list_datasets(), key=keys.SURVEY_DATASET)
        else:
            left.file_uploader(
                "Images (PNG, JPEG, ...; reused in turn when fewer than the questions)",
                accept_multiple_files=True,
                type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
                max_upload_size=MAX_IMAGE_BYTES // 2**20,  # the server's cap is raised for model weights
                key=keys.SURVEY_UPLOADS,
            )
        right.multiselect(
            "Methods to compare (two or more; every pair is asked in turn)",
            list(EXPLAINERS),
            key=keys.SURVEY_METHODS,
            format_func=method_label,
        )
    right.number_input("Questions", 1, MAX_QUESTIONS, key=keys.SURVEY_QUESTIONS)
    right.number_input("Randomisation seed (images, attention-check positions, noise)", 0, 2**31 - 1, key=keys.SURVEY_SEED)
    right.number_input("Attention checks (added to the questions)", 0, 20, key=keys.SURVEY_ATTENTION_CHECKS)
    right.multiselect(
        "Attention-check kinds",
        list(ATTENTION_KINDS),
        key=keys.SURVEY_ATTENTION_KINDS,
        format_func={
            "noise": "One side is pure noise (expects the real map)",
            "identical": 'Both sides identical (expects "equally good")',
        }.get,
    )
    right.checkbox("Shuffle the question order per respondent", key=keys.SURVEY_SHUFFLE)
    st.text_area("Consent text", key=keys.SURVEY_CONSENT, height=120)
    st.text_area("Instructions", key=keys.SURVEY_INSTRUCTIONS, height=120)
    st.button(
        "Create survey",
        type="primary",
        icon=":material/add:",
        key="survey_create",
        disabled=captioning_task and not captioners,
        on_click=st.session_state.__setitem__,
        args=(keys.SURVEY_CREATE_REQUESTED, True),
    )

with manage_tab:
    survey = pick_survey(store)
    if survey is None:
        st.stop()
    st.markdown(
        f"**Status:** {survey.status} · **task:** {survey.settings.get('task', 'classification')} · "
        f"**methods:** {', '.join(map(method_label, survey.methods))} · "
        f"**questions:** {survey.questions} · **model:** {survey.model_id} · "
        f"**images:** {survey.dataset or 'uploaded'} · **seed:** {survey.seed}"
    )

    def change_status(code: str, status: str) -> None:
        try:
            store.set_status(code, status)
        except SurveyError as error:
            st.session_state[keys.SURVEY_CREATED] = str(error)

    buttons = st.columns(4)
    buttons[0].button(
        "Open",
        icon=":material/play_arrow:",
        disabled=survey.status == "open",
        key="survey_open",
        on_click=change_status,
        args=(survey.code, "open"),
    )
    buttons[1].button(
        "Close",
        icon=":material/stop:",
        disabled=survey.status != "open",
        key="survey_close",
        on_click=change_status,
        args=(survey.code, "closed"),
    )
    confirm = buttons[3].checkbox("Allow deleting", key=f"survey_confirm_delete_{survey.code}")
    buttons[2].button(
        "Delete", icon=":material/delete:", disabled=not confirm, key="survey_delete", on_click=store.delete_survey, args=(survey.code,)
    )

    base_url = st.context.url.rsplit("/", 1)[0] if st.context.url else None
    st.markdown("**Share link** (respondents need no account):")
    st.code(share_link(survey.code, base_url), language=None)
    st.markdown(f"For Prolific, use this study URL (completion code **{survey.completion_code}**):")
    st.code(share_link(survey.code, base_url, prolific=True), language=None)
    st.page_link("pages/survey_results.py", label="Results and analysis", icon=":material/bar_chart:")

    @st.fragment(run_every=5)
    def live_progress(code: str) -> None:
        progress = store.progress(code)
        columns = st.columns(4)
        columns[0].metric("Respondents", progress.respondents)
        columns[1].metric("Completed", progress.completed)
        columns[2].metric("Completion rate", f"{progress.completion_rate:.0%}", help="completed / consented respondents")
        columns[3].metric("Votes", progress.responses, help=f"{progress.questions} questions per respondent")

    live_progress(survey.code)

    with st.expander(f"Preview the {survey.questions} questions (method names are hidden from respondents)"):
        for stimulus in store.stimuli(survey.code):
            label = {
                "question": "",
                "attention_noise": " · attention check: noise (expects A)",
                "attention_identical": " · attention check: identical (expects equal)",
            }[stimulus.kind]
            details = stimulus.details
            if "word_position" in details:
                about = (
                    f"caption {caption_markdown(details['caption'], details['word_position'])} "
                    f"({details['role']} word; true caption: {escape_markdown(details['true_caption'])})"
                )
            else:
                about = f"predicted {details.get('prediction', '?')}"
            st.markdown(f"**Question {stimulus.position}**{label} · {details.get('source', '')}, {about}")
            image, map_a, map_b = st.columns(3)
            image.image(stimulus.image_png, caption="image", width=200)
            map_a.image(stimulus.map_a_png, caption=f"A: {method_label(stimulus.method_a)}", width=200)
            map_b.image(
                stimulus.map_b_png,
                caption=f"B: {'noise' if stimulus.kind == 'attention_noise' else method_label(stimulus.method_b)}",
                width=200,
            )
