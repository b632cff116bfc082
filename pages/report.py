"""Report: build, preview and download one self-contained HTML audit report, for the current image (and
optionally a GAN sample explained by the same CNN) or for a finished evaluation run."""

import streamlit as st

from pages.common import keys
from pages.common.page import open_page
from pages.common.resources import cached_gan, model_lock
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from pages.common.targets import choose_target
from xai_core import EXPLAINERS, CheckpointError, DatasetUnavailable
from xai_core.explainers import METHOD_LABELS
from xai_core.generative.dcgan import gan_info, list_gans
from xai_core.models.checkpoints import REPOSITORY_ROOT
from xai_core.reports.audit_report import list_evaluation_runs, load_evaluation_run, render_audit_report
from xai_core.reports.bundle import bundle_for_generated, bundle_for_image
from xai_core.reports.experiments import EVALUATION_CACHE_DIR

DEFAULT_METHODS = ["grad_cam", "lsft"]
EXPLAINER_SEED = 0
PREVIEW_HEIGHT = 900
PAGE_COMMAND = "XAI Studio, Report page"

ensure_app_router()
keep_widget_state_across_pages()
st.session_state.setdefault(keys.REPORT_METHODS, DEFAULT_METHODS)
sources = [keys.REPORT_ON_IMAGE, keys.REPORT_ON_RUN]
with st.sidebar:
    st.header("Report")
    # The image branch renders the shared sidebar, which re-assigns the kept widgets after this radio exists; so the
    # radio's choice survives page switches through its own key and the default index, not through KEPT_WIDGETS.
    report_on = st.radio(
        "Report on",
        sources,
        key=keys.REPORT_SOURCE,
        index=sources.index(st.session_state.get(keys.REPORT_SOURCE_CHOICE, keys.REPORT_ON_IMAGE)),
        on_change=lambda: st.session_state.__setitem__(keys.REPORT_SOURCE_CHOICE, st.session_state[keys.REPORT_SOURCE]),
    )


def _display_path(path) -> str:
    return str(path.relative_to(REPOSITORY_ROOT)) if path.is_relative_to(REPOSITORY_ROOT) else str(path)


if report_on == keys.REPORT_ON_RUN:
    st.title("Report")
    st.caption(
        "The audit report of a finished evaluation run: its configuration, every summary figure with its "
        "direction, the sanity verdicts, one chart per metric and the provenance (file and checkpoint sha256, "
        "library versions), in one HTML file that opens offline."
    )
    runs = list_evaluation_runs()
    chosen_run = None
    if runs:
        options = [str(run) for run in runs]
        if st.session_state.get(keys.REPORT_RUN) not in options:
            st.session_state[keys.REPORT_RUN] = options[0]
        chosen_run = st.selectbox(
            f"Runs under {_display_path(EVALUATION_CACHE_DIR)}/ (newest first)",
            options,
            key=keys.REPORT_RUN,
            format_func=lambda text: text.rsplit("/", 1)[-1],
        )
    else:
        st.info(
            f"No finished run under {_display_path(EVALUATION_CACHE_DIR)}/ yet: type a run directory below "
            "(written by `python -m xai_core evaluate ... --out DIR`)."
        )
    typed = st.text_input(
        "Or a run directory",
        key=keys.REPORT_RUN_PATH,
        help="A directory holding results.json and summary.csv; it overrides the choice above.",
    ).strip()
    if not (typed or chosen_run):
        st.stop()
    try:
        run = load_evaluation_run(typed or chosen_run)
    except ValueError as error:
        st.error(f"Cannot report on this directory: {error}")
        st.stop()
    st.caption(
        f"{', '.join(run.config.get('pairs', []))} · methods {', '.join(run.config.get('methods', []))} · "
        f"seeds {', '.join(map(str, run.config.get('seeds', [])))} · {run.rows} values"
    )
    request = ("run", str(run.path), run.file_sha256["results.json"])
    file_name = f"audit-{run.path.name}.html"

    def build_report(progress) -> str:
        progress.progress(0.5, text="Rendering the report ...")
        return render_audit_report(run.path)
else:
    selection, card, chosen = open_page(
        "Report",
        "One HTML audit report for this image: the original (and a GAN sample explained by the same CNN), every map "
        "as an overlay, the scores with their directions, latent sensitivities and the provenance (checkpoint and data "
        "sha256, seed, library versions). It is self-contained and opens offline.",
    )
    target, _ = choose_target(card, chosen.image, chosen.digest)
    methods = st.multiselect("Methods", list(EXPLAINERS), format_func=METHOD_LABELS.get, key=keys.REPORT_METHODS)
    gans = list_gans(card.dataset) if card.dataset else []
    options = [keys.REPORT_NO_GAN, *gans]
    if st.session_state.get(keys.REPORT_GAN) not in options:
        st.session_state[keys.REPORT_GAN] = keys.REPORT_NO_GAN
    gan_column, seed_column, class_column = st.columns(3)
    gan_id = gan_column.selectbox(
        "GAN sample",
        options,
        key=keys.REPORT_GAN,
        help=f"A DCGAN trained on {card.dataset}: its sample is explained by {card.id} too, with the latent sensitivities of that sample.",
    )
    if not gans and not card.dataset:
        st.caption(f"{card.id} was added without a training dataset, so no GAN generates images of its classes.")
    elif not gans:
        st.caption(
            f"No GAN is trained on {card.dataset} (train one with `python -m xai_core train-gan --dataset {card.dataset} --conditional`)."
        )
    label = None
    gan_seed = 0
    if gan_id != keys.REPORT_NO_GAN:
        info = gan_info(gan_id)
        st.session_state.setdefault(keys.REPORT_GAN_SEED, 0)
        gan_seed = int(
            seed_column.number_input(
                "Latent seed",
                min_value=0,
                max_value=999_999,
                step=1,
                key=keys.REPORT_GAN_SEED,
                help="The latent code is this seed's standard-normal sample (as in GAN Studio).",
            )
        )
        classes = info.get("classes", [])
        if info.get("architecture", {}).get("num_classes", 0):
            if st.session_state.get(keys.REPORT_GAN_CLASS) not in range(len(classes)):
                st.session_state[keys.REPORT_GAN_CLASS] = 0
            label = class_column.selectbox(
                "Class of the sample", range(len(classes)), format_func=lambda c: classes[c], key=keys.REPORT_GAN_CLASS
            )
    if not methods:
        st.info("Choose at least one method.")
        st.stop()
    from_dataset = st.session_state.get(keys.IMAGE_SOURCE) == keys.SOURCE_DATASET
    request = (card.id, chosen.digest, target, tuple(methods), gan_id, gan_seed, label)
    file_name = f"audit-{card.id}-{chosen.digest[:8]}.html"
    title = f"{card.id} on {chosen.caption}" + ("" if gan_id == keys.REPORT_NO_GAN else f" and a {gan_id} sample")

    def build_report(progress) -> str:
        share = 1.0 if gan_id == keys.REPORT_NO_GAN else 0.5
        with model_lock(card.id):
            bundle = bundle_for_image(
                card,
                chosen.image,
                target,
                methods,
                EXPLAINER_SEED,
                mask=chosen.mask,
                dataset=selection.dataset if from_dataset else None,
                source=chosen.caption,
                title=title,
                command=PAGE_COMMAND,
                on_progress=lambda done, message: progress.progress(share * done, text=message),
            )
            if gan_id != keys.REPORT_NO_GAN:
                bundle = bundle_for_generated(
                    card,
                    gan_id,
                    None,
                    label,
                    methods,
                    gan_seed=gan_seed,
                    seed=EXPLAINER_SEED,
                    generator=cached_gan(gan_id),
                    bundle=bundle,
                    on_progress=lambda done, message: progress.progress(0.5 + 0.5 * done, text=message),
                )
        progress.progress(1.0, text="Rendering the report ...")
        return render_audit_report(bundle)


# A callback, not the button's return value: a click survives the app router's one-off rerun.
st.button(
    "Build report", type="primary", icon=":material/summarize:", on_click=st.session_state.__setitem__, args=(keys.REPORT_REQUESTED, True)
)
if st.session_state.pop(keys.REPORT_REQUESTED, False):
    progress = st.progress(0.0, text="Explaining ...")
    try:
        document = build_report(progress)
    except (CheckpointError, DatasetUnavailable, ValueError) as error:
        progress.empty()
        st.error(f"The report could not be built: {error}")
        st.stop()
    progress.empty()
    st.session_state[keys.REPORT_RESULT] = {"request": request, "html": document, "file_name": file_name}

result = st.session_state.get(keys.REPORT_RESULT)
if result is None or result["request"] != request:
    st.caption("Build the report to preview and download it.")
    st.stop()
st.download_button(
    "Download HTML report", result["html"], file_name=result["file_name"], mime="text/html", icon=":material/download:", on_click="ignore"
)
st.caption(f"{len(result['html'].encode()) / 2**20:.1f} MB, self-contained (images, charts and plotly.js embedded). Preview:")
st.iframe(result["html"], height=PREVIEW_HEIGHT)
