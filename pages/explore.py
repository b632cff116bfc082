"""Explore: browse a dataset or upload an image, and see the model's top-5 prediction."""

import streamlit as st

from pages.common import keys
from pages.common.image_input import display_image
from pages.common.page import open_page
from pages.common.resources import cached_predictions
from xai_core.imaging import mask_overlay
from xai_core.reports.charts import top_k_figure

selection, card, chosen = open_page(
    "Explore",
    "Pick a test image by class, or upload your own, and see what the model predicts.",
)

predictions = cached_predictions(card.id, chosen.digest, chosen.image)
image_column, chart_column = st.columns([1, 2], gap="large")
with image_column:
    show_mask = chosen.mask is not None and st.toggle("Show ground-truth mask", key=keys.SHOW_MASK)
    shown = mask_overlay(chosen.image, chosen.mask) if show_mask else chosen.image
    st.image(display_image(shown), caption=chosen.caption, width="stretch")
    same_classes = chosen.class_name is not None and card.dataset == selection.dataset
    if same_classes:
        verdict = "correct" if predictions[0].label == chosen.label else "wrong"
        st.markdown(f"**True class:** {chosen.class_name}")
        st.markdown(f"**Predicted:** {predictions[0].name} ({predictions[0].probability:.1%}) — {verdict}")
    else:
        if chosen.class_name is not None:
            trained_on = f"the model was trained on {card.dataset}" if card.dataset else f"{card.id} has classes of its own"
            st.markdown(f"**Dataset class:** {chosen.class_name} ({trained_on})")
        st.markdown(f"**Predicted:** {predictions[0].name} ({predictions[0].probability:.1%})")
with chart_column:
    true_label = chosen.label if same_classes else None
    st.plotly_chart(top_k_figure(predictions, true_label), width="stretch")
    st.caption(
        f"Model `{card.id}` ({card.arch}), input {card.in_channels}x{card.input_size[0]}x{card.input_size[1]} "
        f"({card.resize_policy}); image {tuple(chosen.image.shape)}."
    )
