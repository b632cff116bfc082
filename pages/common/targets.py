"""The target-class picker: the predicted class by default, any class on request."""

from __future__ import annotations

import streamlit as st
import torch

from xai_core import ModelCard
from xai_core.models import Prediction

from . import keys
from .resources import cached_predictions

PREDICTED = -1


def choose_target(card: ModelCard, image: torch.Tensor, image_digest: str) -> tuple[int, list[Prediction]]:
    """Render the picker under the top-5 predictions; returns (target class index, predictions)."""
    predictions = cached_predictions(card.id, image_digest, image)
    top = predictions[0]
    summary = ", ".join(f"{p.name} {p.probability:.1%}" for p in predictions[:3])
    st.markdown(f"**Prediction:** {top.name} ({top.probability:.1%}) · top 3: {summary}")
    key, options = f"{keys.TARGET}:{card.id}", [PREDICTED, *range(len(card.classes))]
    if key in st.session_state and st.session_state[key] not in options:
        st.warning(
            f"{card.id} has no class {st.session_state[key]!r} (its classes are 0-{len(card.classes) - 1}); "
            "explaining the predicted class instead."
        )
        st.session_state[key] = PREDICTED
    choice = st.selectbox(
        "Target class",
        options,
        key=key,
        format_func=lambda c: f"predicted class ({top.name})" if c == PREDICTED else f"{c}: {card.classes[c]}",
    )
    return (top.label if choice == PREDICTED else int(choice)), predictions
