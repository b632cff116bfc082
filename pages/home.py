"""Home: what XAI Studio is, and which models and datasets this installation has."""

import pandas as pd
import streamlit as st

from pages.common.sidebar import render_sidebar
from xai_core import list_models
from xai_core.data.registry import DATASETS
from xai_core.generative.dcgan import gan_info, list_gans
from xai_core.models import model_info
from xai_core.models.card import STRETCH
from xai_core.models.registry import imagenet_class_names
from xai_core.sftgan import generator_info, list_generators

CLASS_NAMES_SHOWN = 4


def _numbers(values: list[float]) -> str:
    return ", ".join(f"{value:.3g}" for value in values)


def _source(source: str | dict | None) -> str:
    """A manifest's ``source`` (text, or {what: where} with sha256s shortened) as one line."""
    if not isinstance(source, dict):
        return source or ""
    return "; ".join(f"{what}: {value[:12] + '...' if what.endswith('sha256') else value}" for what, value in source.items())


render_sidebar()
st.title("XAI Studio")
st.markdown(
    "See **why** a CNN classified an image and **how** a GAN made one, side by side, with numbers that say "
    "how far each explanation can be trusted. Start on **Explore**: pick a test image or upload your own and "
    "read the model's prediction."
)
st.page_link("pages/explore.py", label="Open Explore", icon=":material/image_search:")

st.subheader("Models")
st.page_link("pages/add_model.py", label="Add your own model", icon=":material/upload_file:")
rows = []
for model_id in list_models():
    info = model_info(model_id)
    metrics = info.get("metrics", {})
    classes = info.get("classes") or (imagenet_class_names() if info.get("dataset") == "imagenet" else [])
    rows.append(
        {
            "model": model_id,
            "architecture": info["arch"],
            "trained on": info.get("dataset") or "(added)",
            "parameters": info.get("parameters"),
            "test accuracy": metrics.get("test_accuracy"),
            "input": "x".join(map(str, [info.get("in_channels", "?"), *info.get("input_size", ["?", "?"])])),
            "resize": info.get("resize", STRETCH),
            "mean": _numbers(info.get("mean", [])),
            "std": _numbers(info.get("std", [])),
            "classes": len(classes),
            "class names": ", ".join(classes[:CLASS_NAMES_SHOWN]) + (", ..." if len(classes) > CLASS_NAMES_SHOWN else ""),
            "source": _source(info.get("source")),
            "reproduce with": info.get("command", ""),
        }
    )
st.dataframe(
    pd.DataFrame(rows), hide_index=True, width="stretch", column_config={"test accuracy": st.column_config.NumberColumn(format="percent")}
)
st.caption(
    "Input: channels x height x width. Resize: *stretch* resizes the whole image to the input size, *center_crop* "
    "the shorter side, then crops the centre (maps are drawn over that crop). Mean and std normalise pixels in [0, 1]. "
    "Source: where the weights came from, with their sha256."
)

st.subheader("SFT-GAN generators")
st.dataframe(
    pd.DataFrame(
        [
            {
                "generator": generator_id,
                "kind": info["kind"].upper(),
                "strategy": info["strategy"],
                "trained on": ", ".join(sorted({pair["model"] for pair in info["pairs"]})),
                "parameters": info["parameters"],
                "held-out Dice vs Grad-CAM": info["metrics"]["val_dice"],
                "reproduce with": info["command"],
            }
            for generator_id in list_generators()
            for info in [generator_info(generator_id)]
        ]
    ),
    hide_index=True,
    width="stretch",
)

st.subheader("DCGANs")
gan_rows = []
for gan_id in list_gans():
    info = gan_info(gan_id)
    metrics = info["metrics"]
    gan_rows.append(
        {
            "GAN": gan_id,
            "kind": "class-conditional" if info["kind"] == "cdcgan" else "unconditional",
            "trained on": info["dataset"],
            "parameters": info["parameters"],
            "FID": metrics.get("fid"),
            "real-vs-real FID": metrics.get("fid_real_vs_real"),
            "class accuracy": metrics.get("class_accuracy"),
            "reproduce with": info["command"],
        }
    )
if gan_rows:
    st.dataframe(
        pd.DataFrame(gan_rows),
        hide_index=True,
        width="stretch",
        column_config={"class accuracy": st.column_config.NumberColumn(format="percent")},
    )
    st.caption(
        "FID on the domain CNN's penultimate features (lower is better), beside two real sets' FID; class accuracy: "
        "the CNN's accuracy on samples of the conditioned class. Explore them in **GAN Studio**."
    )
else:
    st.caption("No DCGAN installed: `python -m xai_core train-gan --dataset mnist --conditional`.")

st.subheader("Datasets")
st.dataframe(
    pd.DataFrame(
        [
            {"dataset": name, "description": spec.description, "source": spec.source, "ground-truth masks": spec.has_masks}
            for name, spec in DATASETS.items()
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.caption("User data: `folder:<path>` (one sub-folder per class) and torchvision roots; see the README.")
