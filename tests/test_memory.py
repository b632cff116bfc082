"""Memory over long use (issue 8, item 9): 1,000 explanation calls keep the resident set flat and leave no hook;
models load once per process; an ended Explain session frees its state and repeated sessions do not grow memory."""

from __future__ import annotations

import gc
import os
import weakref
from itertools import cycle
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from pages.common import resources
from xai_core import explain, layer_gradcams, load_model
from xai_core.explainers import build_explainer

APP = str(Path(__file__).resolve().parents[1] / "app.py")
MODEL_ID = "vgg-mnist"
CALLS = ("grad_cam", "saliency", "grad_cam_pp", "layer_cam", "lsft", "layer_gradcams")
WARM_UP_CALLS, MEASURED_CALLS, MAX_CALL_GROWTH_MB = 50, 1_000, 50
WARM_UP_SESSIONS, MEASURED_SESSIONS, MAX_SESSION_GROWTH_MB = 3, 20, 100
HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
GLOBAL_HOOK_DICTS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks", "_global_backward_pre_hooks")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def collect_garbage() -> None:
    """Collect until a pass finds nothing: a Streamlit script runner's reference cycles can take two passes."""
    for _ in range(10):
        if not gc.collect():
            return


def resident_mb() -> float:
    """This process's resident set (MB), after garbage collection."""
    collect_garbage()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hooked_modules(modules) -> list[str]:
    """Class names of the modules that still hold a hook of any kind (forward, pre-forward, backward, pre-backward)."""
    return [type(module).__name__ for module in modules if any(getattr(module, name) for name in HOOK_DICTS)]


def test_a_thousand_explanations_keep_memory_flat_and_leave_no_hook():
    card = load_model(MODEL_ID)
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    def call(index: int, kind: str) -> None:
        image = images[index % len(images)]
        if kind == "layer_gradcams":
            layer_gradcams(card.model, card.preprocess(image), index % 10)
        else:
            explain(card, image, [kind], index % 10)

    calls = enumerate(cycle(CALLS))
    for index, kind in (next(calls) for _ in range(WARM_UP_CALLS)):
        call(index, kind)
    before = resident_mb()
    for index, kind in (next(calls) for _ in range(MEASURED_CALLS)):
        call(index, kind)
    growth = resident_mb() - before

    assert growth < MAX_CALL_GROWTH_MB, f"resident set grew {growth:.1f} MB over {MEASURED_CALLS} calls"
    generator = build_explainer("lsft", card).generator
    assert hooked_modules([*card.model.modules(), *generator.modules()]) == []
    global_hooks = {name: len(getattr(nn.modules.module, name)) for name in GLOBAL_HOOK_DICTS}
    assert global_hooks == dict.fromkeys(GLOBAL_HOOK_DICTS, 0)


def open_explain(state: dict | None = None) -> AppTest:
    """One Explain session through AppTest (its session state seeded with ``state``), after its first render."""
    app = AppTest.from_file(APP, default_timeout=300)
    for key, value in (state or {}).items():
        app.session_state[key] = value
    app.run()
    app.switch_page("pages/explain.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.main.get("image")) == 11  # the original and the 10 methods' maps
    return app


def test_models_load_once_per_process(monkeypatch):
    loaded = []

    def counting_load_model(model_id: str):
        loaded.append(load_model(model_id))
        return loaded[-1]

    resources.cached_model.clear()
    monkeypatch.setattr(resources, "load_model", counting_load_model)
    open_explain()
    open_explain()
    assert [card.id for card in loaded] == [MODEL_ID]
    assert resources.cached_model(MODEL_ID) is resources.cached_model(MODEL_ID) is loaded[0]


class SessionProbe:
    """A marker object put into one session's state: it dies with the state."""


def test_ended_explain_sessions_free_their_state_and_memory_stays_bounded():
    for _ in range(WARM_UP_SESSIONS):
        open_explain()
    before = resident_mb()
    probes = []
    for _ in range(MEASURED_SESSIONS):
        probe = SessionProbe()
        probes.append(weakref.ref(probe))
        open_explain({"memory_test_probe": probe})
        del probe
    growth = resident_mb() - before

    assert [reference() for reference in probes] == [None] * MEASURED_SESSIONS
    assert growth < MAX_SESSION_GROWTH_MB, f"resident set grew {growth:.1f} MB over {MEASURED_SESSIONS} sessions"
