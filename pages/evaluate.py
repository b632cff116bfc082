"""Evaluate: the metric suite over (model, dataset) pairs, methods, images and seeds, with charts and downloads."""

import time

import streamlit as st

from pages.common import keys
from pages.common.evaluation import curve_frame, remember, sanity_frame, skipped_mask_metrics, summary_frame
from pages.common.resources import evaluation_results
from pages.common.sidebar import (
    DEFAULT_MODEL,
    dataset_label,
    ensure_app_router,
    keep_session_upload,
    keep_widget_state_across_pages,
    user_datasets,
)
from xai_core import EXPLAINERS, CheckpointError, DatasetUnavailable, list_models
from xai_core.data import FOLDER_PREFIX, UNLABELLED_NOTE, dataset_has_masks
from xai_core.data.registry import DATASETS, TORCHVISION_PREFIX
from xai_core.explainers import method_label
from xai_core.metrics.suite import (
    METRICS,
    SUMMARY_COLUMNS,
    EvaluationPair,
    EvaluationSettings,
    evaluation_config,
    results_json,
    rows_to_csv,
    run_evaluation,
)
from xai_core.models import model_info
from xai_core.reports.evaluation_report import evaluation_figures

DEFAULT_METHODS = ["grad_cam", "lsft", "gsft", "saliency"]
DEFAULT_METRICS = [name for name, metric in METRICS.items() if not metric.level_name]  # curves re-explain: costly

ensure_app_router()
keep_widget_state_across_pages()
keep_session_upload()
st.title("Evaluate")
st.caption(
    "How far can each explanation be trusted? Faithfulness (average drop, increase in confidence, win vs the "
    "reference, deletion/insertion AUC), agreement with the reference, localisation against ground-truth masks, "
    "robustness to salt-and-pepper noise and the model-randomisation sanity check, over n images per pair and seed."
)

models = list_models()
for key, default in (
    (keys.EVAL_MODELS, [st.session_state.get(keys.MODEL_ID, DEFAULT_MODEL)]),
    (keys.EVAL_DATASET, keys.OWN_DATASET),
    (keys.EVAL_SPLIT, "test"),
    (keys.EVAL_METHODS, DEFAULT_METHODS),
    (keys.EVAL_METRICS, DEFAULT_METRICS),
    (keys.EVAL_IMAGES, 16),
    (keys.EVAL_SEEDS, "0"),
    (keys.EVAL_REFERENCE, "grad_cam"),
    (keys.EVAL_PERTURBATION_STEPS, 16),
    (keys.EVAL_ROBUSTNESS_IMAGES, 16),
    (keys.EVAL_SANITY_IMAGES, 8),
    (keys.EVAL_SANITY_STEPS, 6),
):
    st.session_state.setdefault(key, default)

left, right = st.columns(2)
chosen_models = left.multiselect("Models", models, key=keys.EVAL_MODELS)
dataset_choices = list(dict.fromkeys([keys.OWN_DATASET, *DATASETS, *user_datasets(), st.session_state[keys.EVAL_DATASET]]))
dataset_choice = left.selectbox(
    "Evaluate on",
    dataset_choices,
    key=keys.EVAL_DATASET,
    format_func=dataset_label,
    help="Another dataset tests generalisation, and your own images (a folder or uploads, added in the sidebar of the "
    "other pages) are evaluated as they are: the targets are then the model's predictions.",
)
split = left.radio("Split", ["test", "train"], key=keys.EVAL_SPLIT, horizontal=True)
methods = right.multiselect("Methods", list(EXPLAINERS), format_func=method_label, key=keys.EVAL_METHODS)
metrics = right.multiselect(
    "Metrics", list(METRICS), format_func=lambda m: f"{METRICS[m].label} ({METRICS[m].family})", key=keys.EVAL_METRICS
)
n = left.number_input("Images per pair and seed", min_value=1, max_value=5000, step=1, key=keys.EVAL_IMAGES)
seeds_text = right.text_input("Seeds", key=keys.EVAL_SEEDS, help="Comma-separated, e.g. 0,1,2: each draws its own images.")
with st.expander("Settings"):
    columns = st.columns(5)
    reference = columns[0].selectbox(
        "Reference method",
        list(EXPLAINERS),
        format_func=method_label,
        key=keys.EVAL_REFERENCE,
        help="Win rate and Dice compare every method with this one (the paper: Grad-CAM).",
    )
    steps = columns[1].number_input(
        "Perturbation steps",
        min_value=1,
        max_value=256,
        key=keys.EVAL_PERTURBATION_STEPS,
        help="Deletion/insertion curves: fractions 0, 1/S, ..., 1 of the pixels.",
    )
    robustness_images = columns[2].number_input(
        "Robustness images",
        min_value=1,
        max_value=5000,
        key=keys.EVAL_ROBUSTNESS_IMAGES,
        help="Noise curves re-explain the first k images at 11 noise levels.",
    )
    sanity_images = columns[3].number_input(
        "Sanity images",
        min_value=1,
        max_value=5000,
        key=keys.EVAL_SANITY_IMAGES,
        help="The randomisation cascade re-explains the first k images per step.",
    )
    sanity_steps = columns[4].number_input(
        "Sanity steps",
        min_value=2,
        max_value=100,
        key=keys.EVAL_SANITY_STEPS,
        help="Points of the cascade compared; the last is always the fully random model.",
    )

if not chosen_models or not methods or not metrics:
    st.info("Choose at least one model, one method and one metric.")
    st.stop()
try:
    seeds = list(dict.fromkeys(int(part) for part in seeds_text.replace(" ", "").split(",") if part))
except ValueError:
    st.error(f"Seeds must be whole numbers separated by commas, got {seeds_text!r}.")
    st.stop()
if not seeds:
    st.error("Give at least one seed.")
    st.stop()

pairs = [
    EvaluationPair(m, model_info(m).get("dataset", "") if dataset_choice == keys.OWN_DATASET else dataset_choice, split)
    for m in chosen_models
]
unavailable = [
    pair
    for pair in pairs
    if not pair.dataset or (pair.dataset not in dataset_choices and not pair.dataset.startswith((FOLDER_PREFIX, TORCHVISION_PREFIX)))
]
if unavailable:
    st.error(
        "No test data here for "
        + ", ".join(f"{p.model_id} (trained on {p.dataset or 'unknown data'})" for p in unavailable)
        + ": choose a dataset under *Evaluate on* (e.g. photos for the ImageNet model, or your own images)."
    )
    st.stop()

settings = EvaluationSettings(
    reference_method=reference,
    perturbation_steps=int(steps),
    robustness_images=int(robustness_images),
    sanity_images=int(sanity_images),
    sanity_steps=int(sanity_steps),
)
config = evaluation_config(pairs, methods, metrics, int(n), seeds, settings)
store = evaluation_results()
requested = st.session_state.pop(keys.EVAL_REQUESTED, False)
# A callback, not the button's return value: a click survives the app router's one-off rerun.
st.button(
    "Run evaluation", type="primary", icon=":material/play_arrow:", on_click=st.session_state.__setitem__, args=(keys.EVAL_REQUESTED, True)
)
computed_now = False
if requested and config["key"] not in store:
    progress = st.progress(0.0, text="Loading models and data ...")
    started = time.perf_counter()
    try:
        result = run_evaluation(
            pairs,
            methods,
            metrics,
            int(n),
            seeds,
            settings,
            on_progress=lambda done, message: progress.progress(min(1.0, done), text=message),
        )
    except (DatasetUnavailable, CheckpointError, KeyError, ValueError) as error:  # methods undefined on a model are skipped
        progress.empty()
        st.error(f"The evaluation stopped: {error}")
        st.stop()
    progress.empty()
    remember(store, config["key"], (result, time.perf_counter() - started))
    computed_now = True

if config["key"] not in store:
    mask_metrics = [METRICS[m].label for m in metrics if METRICS[m].needs_mask]
    maskless = sorted({dataset_label(p.dataset) for p in pairs if not dataset_has_masks(p.dataset)})
    if mask_metrics and maskless:
        st.info(
            f"{', '.join(maskless)} {'has' if len(maskless) == 1 else 'have'} no ground-truth masks: "
            f"{', '.join(mask_metrics)} will be skipped there."
        )
    st.caption(
        f"{len(pairs)} pair(s) x {len(seeds)} seed(s) x {int(n)} images, {len(methods)} method(s), {len(metrics)} metric(s). "
        "Results are kept for every session; a configuration run before shows at once."
    )
    st.stop()

result, seconds = store[config["key"]]
summary = result.summary()
st.subheader("Results")
st.caption(
    f"{', '.join(result.config['pairs'])} · {result.config['n']} images per pair and seed · seeds "
    f"{', '.join(map(str, result.config['seeds']))} · {len(result.rows)} values · "
    + (f"computed in {seconds:.1f} s" if computed_now else f"kept from an earlier run ({seconds:.1f} s)")
    + f" · configuration {result.config['key']}"
)
for pair, labels in skipped_mask_metrics(result).items():
    st.info(f"{pair}: {', '.join(labels)} skipped (the data has no ground-truth masks).")
for skipped in result.skipped:
    st.info(f"{skipped['pair']}: {method_label(skipped['method'])} skipped: {skipped['reason']}.")
for pair, target in result.targets.items():
    if not target["labelled"]:
        st.info(f"{pair}: unlabelled images, so the maps explain the model's predictions (accuracy {UNLABELLED_NOTE}).")

table = summary_frame(summary)
if not table.empty:
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="evaluation_summary",
        column_config={"mean": st.column_config.NumberColumn(format="%.4g"), "std": st.column_config.NumberColumn(format="%.3g")},
    )
figures = evaluation_figures(summary)
bars = [name for name in figures if not METRICS[name].level_name]
for start in range(0, len(bars), 2):
    for column, name in zip(st.columns(2), bars[start : start + 2]):
        column.plotly_chart(figures[name], key=f"chart:{name}")

for family, heading in (("robustness", "Robustness to salt-and-pepper noise"), ("sanity", "Sanity check: cascading randomisation")):
    curves = [name for name in figures if METRICS[name].family == family]
    if not curves:
        continue
    st.subheader(heading)
    for name in curves:
        st.plotly_chart(figures[name], key=f"chart:{name}")
        with st.expander(f"{METRICS[name].label}: values"):
            st.dataframe(curve_frame(summary, name), hide_index=True, width="stretch")
    if family == "sanity":
        verdicts = sanity_frame(summary, settings.sanity_threshold)
        st.dataframe(verdicts, hide_index=True, width="stretch", key="sanity_verdicts")
        failing = verdicts[verdicts["verdict"] == "FAILS"]
        if failing.empty:
            st.success(
                f"Every method passes: its maps decorrelate (rank corr. < {settings.sanity_threshold}) from the "
                "trained model's once the model is randomised."
            )
        else:
            st.error(
                "FAIL the sanity check (the map barely changes when the model is randomised, so it explains the "
                "image rather than the model): " + ", ".join(f"{m} on {p}" for m, p in zip(failing["method"], failing["pair"]))
            )

st.subheader("Downloads")
stem = f"evaluation-{result.config['key']}"
downloads = st.columns(3)
downloads[0].download_button(
    "Results CSV (one row per value)",
    rows_to_csv(result.rows),
    file_name=f"{stem}-results.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
downloads[1].download_button(
    "Summary CSV",
    rows_to_csv(summary, SUMMARY_COLUMNS),
    file_name=f"{stem}-summary.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
downloads[2].download_button(
    "JSON (config, versions, summary, rows)",
    results_json(result),
    file_name=f"{stem}.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
)
