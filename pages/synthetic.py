"""Synthetic data: a conditional GAN's samples as training data (real vs real + GAN accuracy), a bias
audit of explanations on real vs synthetic images, and the explainability score with its parts."""

import pandas as pd
import streamlit as st

from pages.common import keys
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from xai_core import CheckpointError, DatasetUnavailable
from xai_core.generative.dcgan import gan_info, list_gans
from xai_core.metrics.augmentation import AUDIT_METRICS, AugmentationSettings
from xai_core.metrics.explainability_score import PART_WEIGHTS
from xai_core.metrics.gan_experiments import (
    REPORT_SEEDS,
    SCORE_DATASETS,
    audit_config,
    audit_result,
    augmentation_config,
    augmentation_result,
    cache_path,
    score_config,
    score_result,
)
from xai_core.reports.charts import PAPER_TABLE_2, audit_figure, augmentation_figure, explainability_score_figure

ensure_app_router()
keep_widget_state_across_pages()
st.title("Synthetic data")
st.caption(
    "Does training on GAN samples help the CNN, and do its explanations treat synthetic images like real ones? "
    "Each analysis runs once per configuration and is kept on disk (runs/gan-results), shared with "
    "`python -m xai_core report-results`."
)

datasets = sorted({gan_info(gan_id)["dataset"] for gan_id in list_gans() if gan_info(gan_id)["kind"] == "cdcgan"})
if not datasets:
    st.info("No class-conditional GAN is installed: train one with `python -m xai_core train-gan --dataset mnist --conditional`.")
    st.stop()
st.session_state.setdefault(keys.SYNTH_DATASET, datasets[0])
defaults = AugmentationSettings(datasets[0], "")
for key, value in (
    (keys.SYNTH_SEEDS, ",".join(map(str, defaults.seeds))),
    (keys.SYNTH_REAL_IMAGES, defaults.real_images),
    (keys.SYNTH_SYNTHETIC_IMAGES, defaults.synthetic_images),
    (keys.SYNTH_EPOCHS, defaults.epochs),
    (keys.SYNTH_AUDIT_PER_CLASS, 50),
    (keys.SYNTH_AUDIT_METRIC, "background_mass"),
    (keys.SYNTH_SCORE_IMAGES, 100),
):
    st.session_state.setdefault(key, value)
dataset = st.selectbox("Dataset (with its conditional GAN cdcgan-<dataset> and CNN vgg-<dataset>)", datasets, key=keys.SYNTH_DATASET)
requested = st.session_state.pop(keys.SYNTH_REQUESTED, None)


def run_button(label: str, analysis: str) -> None:
    # A callback, not the button's return value: a click survives the app router's one-off rerun.
    st.button(
        label,
        type="primary",
        icon=":material/play_arrow:",
        key=f"run_{analysis}",
        on_click=st.session_state.__setitem__,
        args=(keys.SYNTH_REQUESTED, analysis),
    )


def compute(analysis: str, function, *args, **kwargs):
    """Run one analysis with a progress bar; errors are shown, not raised."""
    progress = st.progress(0.0, text="Loading models and data ...")
    try:
        return function(*args, on_progress=lambda done, message: progress.progress(min(1.0, done), text=message), **kwargs)
    except (DatasetUnavailable, CheckpointError, KeyError, ValueError) as error:
        st.error(f"The {analysis} stopped: {error}")
        return None
    finally:
        progress.empty()


augmentation_tab, audit_tab, score_tab = st.tabs(["Augmentation", "Bias audit", "Explainability score"])

with augmentation_tab:
    st.markdown(
        "The same CNN recipe trained on a subset of the real training images, and on that subset plus balanced "
        "samples of the conditional GAN; test accuracy on the real test split, mean ± std over seeds. "
        f"The paper (Table 2) reports {PAPER_TABLE_2['CNN only']['accuracy']} % for the CNN and "
        f"{PAPER_TABLE_2['Unified framework']['accuracy']} % for the framework trained with GAN augmentation."
    )
    columns = st.columns(4)
    seeds_text = columns[0].text_input("Seeds", key=keys.SYNTH_SEEDS)
    real_images = columns[1].number_input("Real training images", min_value=50, max_value=60000, step=50, key=keys.SYNTH_REAL_IMAGES)
    synthetic_images = columns[2].number_input("GAN images added", min_value=10, max_value=60000, step=50, key=keys.SYNTH_SYNTHETIC_IMAGES)
    epochs = columns[3].number_input("Epochs", min_value=1, max_value=100, key=keys.SYNTH_EPOCHS)
    try:
        seeds = tuple(dict.fromkeys(int(part) for part in seeds_text.replace(" ", "").split(",") if part))
    except ValueError:
        seeds = ()
    if not seeds:
        st.error(f"Seeds must be whole numbers separated by commas, got {seeds_text!r}.")
    else:
        settings = AugmentationSettings(
            dataset,
            f"cdcgan-{dataset}",
            seeds=seeds,
            real_images=int(real_images),
            synthetic_images=int(synthetic_images),
            epochs=int(epochs),
        )
        run_button("Train and compare", "augmentation")
        done = cache_path("augmentation", augmentation_config(settings)).exists()
        if requested == "augmentation" and not done:
            done = compute("augmentation", augmentation_result, settings) is not None
        if done:
            result = augmentation_result(settings)
            st.plotly_chart(augmentation_figure(result["summary"]), key="augmentation_chart")
            table = pd.DataFrame(result["rows"])
            st.dataframe(pd.DataFrame(result["summary"]), hide_index=True, key="augmentation_summary")
            st.download_button(
                "Per-seed accuracies (CSV)",
                table.to_csv(index=False),
                file_name=f"augmentation-{dataset}.csv",
                mime="text/csv",
                icon=":material/download:",
            )
        else:
            st.caption(f"Not run yet for this configuration: {2 * len(seeds)} CNN trainings on CPU.")

with audit_tab:
    st.markdown(
        "Grad-CAM of the domain CNN on real test images and on GAN images of the same class. A class is starred "
        "when a two-sample Kolmogorov-Smirnov test finds the two distributions different (p < 0.05)."
    )
    columns = st.columns(2)
    per_class = columns[0].number_input("Images per class and side", min_value=5, max_value=1000, step=5, key=keys.SYNTH_AUDIT_PER_CLASS)
    metric = columns[1].selectbox(
        "Metric", list(AUDIT_METRICS), format_func=lambda m: f"{m}: {AUDIT_METRICS[m]}", key=keys.SYNTH_AUDIT_METRIC
    )
    run_button("Run the bias audit", "audit")
    done = cache_path("audit", audit_config(dataset, int(per_class))).exists()
    if requested == "audit" and not done:
        done = compute("bias audit", audit_result, dataset, int(per_class)) is not None
    if done:
        rows = audit_result(dataset, int(per_class))
        st.plotly_chart(audit_figure(rows, metric, AUDIT_METRICS[metric]), key="audit_chart")
        table = pd.DataFrame(rows)
        differing = table[table.p_value < 0.05].groupby("metric").size().reindex(list(AUDIT_METRICS), fill_value=0)
        st.caption(
            "Classes whose distributions differ (p < 0.05): "
            + ", ".join(f"{name} {count}/{table['class'].nunique()}" for name, count in differing.items())
        )
        st.dataframe(table[table.metric == metric], hide_index=True, key="audit_table")
        st.download_button(
            "Audit (CSV)", table.to_csv(index=False), file_name=f"bias-audit-{dataset}.csv", mime="text/csv", icon=":material/download:"
        )
    else:
        st.caption("Not run yet for this configuration.")

with score_tab:
    weights = ", ".join(f"{part} {weight}" for part, weight in PART_WEIGHTS.items())
    st.markdown(
        f"Score = 100 × weighted mean of parts in [0, 1] ({weights}; human preference joins with weight 0.25 once "
        "survey data exists). Definitions: docs/explainability_score.md. The paper's Table 2 gives 61 / 54 / 79 "
        "without defining the score."
    )
    if dataset not in SCORE_DATASETS:
        st.info(
            f"The score needs foreground masks on generated images too, which only the symbol datasets have: "
            f"choose {' or '.join(SCORE_DATASETS)}."
        )
    else:
        images = st.number_input("Images per seed", min_value=10, max_value=1000, step=10, key=keys.SYNTH_SCORE_IMAGES)
        run_button("Compute the score", "score")
        done = cache_path("score", score_config(dataset, int(images), REPORT_SEEDS)).exists()
        if requested == "score" and not done:
            done = compute("score", score_result, dataset, int(images), REPORT_SEEDS) is not None
        if done:
            result = score_result(dataset, int(images), REPORT_SEEDS)
            st.plotly_chart(explainability_score_figure(result["summary"]), key="score_chart")
            table = pd.DataFrame(result["summary"])
            table.insert(1, "paper", [PAPER_TABLE_2[system]["score"] for system in table.system])
            st.dataframe(table, hide_index=True, key="score_table")
            st.download_button(
                "Scores and parts (JSON)",
                pd.DataFrame(result["rows"]).to_json(orient="records"),
                file_name=f"explainability-score-{dataset}.json",
                mime="application/json",
                icon=":material/download:",
            )
        else:
            st.caption(f"Not run yet: seeds {', '.join(map(str, REPORT_SEEDS))}.")
