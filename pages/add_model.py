"""Add a model: your own CNN (a torchvision or timm architecture with your weights, or an ONNX file) and its classes,
validated (one forward pass, class count, conv layers) and registered; then it is in every page's model picker."""

from pathlib import Path

import streamlit as st
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from pages.common import keys
from pages.common.resources import cached_architectures, forget_model
from pages.common.sidebar import render_sidebar
from pages.common.user_models import (
    CLASS_EXTENSIONS,
    CLASSES_CAP_MB,
    DEFAULT_ARCH,
    ONNX_EXTENSIONS,
    WEIGHT_EXTENSIONS,
    WEIGHTS_CAP_VARIABLE,
    add_uploaded_model,
    added_models,
    default_mean_std,
    default_model_id,
    parse_numbers,
    user_model_dir,
    weights_cap_mb,
)
from xai_core import CheckpointError
from xai_core.cli.user_models import summary
from xai_core.models.card import CENTER_CROP, RESIZE_POLICIES
from xai_core.models.sources import Preprocessing, remove_model

RESIZE_HELP = {
    "stretch": "stretch: the whole image is resized to the input size (aspect ratio not kept)",
    CENTER_CROP: "center_crop: the shorter side is resized, then the centre cropped (torchvision's ImageNet evaluation)",
}


def _release(*uploads) -> None:
    """Drop uploaded files from the server's memory, where Streamlit keeps them until the browser session ends (as
    its own chat input does once it has read them); the uploaders get new keys, so nothing refers to them."""
    context = get_script_run_ctx()
    if context is not None and isinstance(context.uploaded_file_mgr, MemoryUploadedFileManager):
        for upload in uploads:
            if upload is not None:
                context.uploaded_file_mgr.remove_file(session_id=context.session_id, file_id=upload.file_id)
    st.session_state[keys.ADD_MODEL_UPLOADS] = st.session_state[keys.ADD_MODEL_UPLOADS] + 1


# a model added on the last run becomes the current model before the sidebar's picker exists
if keys.ADD_MODEL_SELECT in st.session_state:
    st.session_state[keys.MODEL_ID] = st.session_state.pop(keys.ADD_MODEL_SELECT)
render_sidebar()
st.title("Add a model")
out_dir = user_model_dir()
cap_mb, cap_note = weights_cap_mb(st.get_option("server.maxUploadSize"))
st.caption(
    "Bring a CNN you trained elsewhere: a torchvision or timm architecture by name with your weights, or an ONNX "
    "export (Keras, TensorFlow, JAX, PyTorch). It is validated first (the architecture built for your classes, the "
    "weights loaded strictly, one forward pass, the conv layers listed); only then are a safetensors copy (or the ONNX "
    f"file) and a manifest entry written to `{out_dir}`. Nothing is downloaded. Your own Python architectures "
    "(factories) run code and are added on the command line only: `python -m xai_core add-model --factory ... --trust-code`."
)

generation = st.session_state.setdefault(keys.ADD_MODEL_UPLOADS, 0)
for key, default in (
    (keys.ADD_MODEL_ARCH, DEFAULT_ARCH),
    (keys.ADD_MODEL_SIZE_FROM_ONNX, True),
    (keys.ADD_MODEL_HEIGHT, 224),
    (keys.ADD_MODEL_WIDTH, 224),
    (keys.ADD_MODEL_CHANNELS, 3),
    (keys.ADD_MODEL_MEAN, default_mean_std(3)[0]),
    (keys.ADD_MODEL_STD, default_mean_std(3)[1]),
):
    st.session_state.setdefault(key, default)


def _channels_changed() -> None:
    """A new channel count: the mean and std fields start again from that count's defaults."""
    mean, std = default_mean_std(st.session_state[keys.ADD_MODEL_CHANNELS])
    st.session_state[keys.ADD_MODEL_MEAN], st.session_state[keys.ADD_MODEL_STD] = mean, std


source = st.radio("Your model", [keys.ADD_MODEL_SOURCE_WEIGHTS, keys.ADD_MODEL_SOURCE_ONNX], key=keys.ADD_MODEL_SOURCE, horizontal=True)
onnx = source == keys.ADD_MODEL_SOURCE_ONNX
size_note = f"up to {cap_mb:,} MB (set by {WEIGHTS_CAP_VARIABLE}); kept in the server's memory until added or the session ends"
if onnx:
    arch = None
    model_file = st.file_uploader(
        f"ONNX file ({size_note})", type=list(ONNX_EXTENSIONS), max_upload_size=cap_mb, key=f"{keys.ADD_MODEL_ONNX}{generation}"
    )
else:
    arch = st.selectbox(
        "Architecture",
        cached_architectures(),
        key=keys.ADD_MODEL_ARCH,
        help="Every torchvision classifier, then every timm model (type to search), built with random weights: yours replace them.",
    )
    model_file = st.file_uploader(
        f"Weights: .safetensors, or a .pt/.pth state dict ({size_note})",
        type=list(WEIGHT_EXTENSIONS),
        max_upload_size=cap_mb,
        key=f"{keys.ADD_MODEL_WEIGHTS}{generation}",
        help="A state dict: torch.save(model.state_dict(), 'weights.pt'). A pickled whole model is refused (it could run code).",
    )
if cap_note:
    st.warning(cap_note)

classes_source = st.radio(
    "Classes", [keys.ADD_MODEL_CLASSES_FILE, keys.ADD_MODEL_CLASSES_IMAGENET], key=keys.ADD_MODEL_CLASSES_SOURCE, horizontal=True
)
classes_file = None
if classes_source == keys.ADD_MODEL_CLASSES_FILE:
    classes_file = st.file_uploader(
        f"Class names: a .txt (one a line, in the order of the model's outputs), a .json list or {{index: name}} "
        f"(up to {CLASSES_CAP_MB} MB)",
        type=list(CLASS_EXTENSIONS),
        max_upload_size=CLASSES_CAP_MB,
        key=f"{keys.ADD_MODEL_CLASSES}{generation}",
    )

st.subheader("Preprocessing")
from_graph = onnx and st.checkbox(
    "Take the input size and channels from the ONNX file (ImageNet mean/std for RGB, 0.5 for grey, stretch)",
    key=keys.ADD_MODEL_SIZE_FROM_ONNX,
)
height_column, width_column, channels_column, resize_column = st.columns(4)
height = height_column.number_input("Input height", min_value=16, max_value=2048, step=1, key=keys.ADD_MODEL_HEIGHT, disabled=from_graph)
width = width_column.number_input("Input width", min_value=16, max_value=2048, step=1, key=keys.ADD_MODEL_WIDTH, disabled=from_graph)
channels = channels_column.selectbox(
    "Input channels",
    (3, 1),
    key=keys.ADD_MODEL_CHANNELS,
    on_change=_channels_changed,
    disabled=from_graph,
    help="torchvision architectures take 3; timm and ONNX models may take 1 (grey).",
)
resize = resize_column.radio(
    "Resize policy", RESIZE_POLICIES, key=keys.ADD_MODEL_RESIZE, disabled=from_graph, help="; ".join(RESIZE_HELP.values())
)
mean_column, std_column = st.columns(2)
mean_text = mean_column.text_input("Mean (per channel, pixels in [0, 1])", key=keys.ADD_MODEL_MEAN, disabled=from_graph)
std_text = std_column.text_input("Std (per channel)", key=keys.ADD_MODEL_STD, disabled=from_graph)

model_id = st.text_input(
    "Model id",
    key=keys.ADD_MODEL_ID,
    placeholder="default: the file's name",
    help="How pages and commands will know it: 1-64 letters, digits, '.', '_' or '-'.",
).strip()
# A callback, not the button's return value: a click survives the app router's one-off rerun.
st.button(
    "Validate and add",
    type="primary",
    icon=":material/add_circle:",
    on_click=st.session_state.__setitem__,
    args=(keys.ADD_MODEL_REQUESTED, True),
)

if st.session_state.pop(keys.ADD_MODEL_REQUESTED, False):
    if model_file is None:
        st.error(f"Upload {'the ONNX file' if onnx else 'the weights'} first.")
    elif classes_source == keys.ADD_MODEL_CLASSES_FILE and classes_file is None:
        st.error("Upload the classes file first, or choose ImageNet's classes.")
    else:
        chosen_id = model_id or default_model_id(model_file.name)
        try:
            preprocessing = (
                None
                if from_graph
                else Preprocessing(
                    (int(height), int(width)), parse_numbers(mean_text, "mean"), parse_numbers(std_text, "std"), resize, int(channels)
                )
            )
            with st.spinner(f"Validating {chosen_id}: building the network, loading the weights, one forward pass ..."):
                added = add_uploaded_model(
                    chosen_id,
                    arch,
                    (model_file.name, model_file.getbuffer()),
                    None if classes_file is None else (classes_file.name, classes_file.getbuffer()),
                    preprocessing,
                    out_dir,
                )
        except (CheckpointError, ValueError) as error:
            st.error(f"{chosen_id} was not added (nothing was written): {error}")
        else:
            forget_model(chosen_id)
            st.session_state[keys.ADD_MODEL_RESULT] = {"summary": summary(added, Path(out_dir)), "id": chosen_id}
            st.session_state[keys.ADD_MODEL_SELECT] = chosen_id
            _release(model_file, classes_file)
            st.rerun()

result = st.session_state.get(keys.ADD_MODEL_RESULT)
if result is not None and "summary" in result:
    st.success(f"Added **{result['id']}**: it is now the current model in the sidebar, on every page.", icon=":material/check_circle:")
    st.code(result["summary"], language=None)
    st.page_link("pages/explore.py", label="Explore it", icon=":material/image_search:")
elif result is not None:
    st.info(result["removed"])


def _remove(model_id: str) -> None:
    try:
        removed = remove_model(model_id, out_dir)
    except ValueError as error:
        st.session_state[keys.ADD_MODEL_RESULT] = {"removed": f"{model_id} was not removed: {error}"}
        return
    forget_model(model_id)
    if st.session_state.get(keys.MODEL_ID) == model_id:
        del st.session_state[keys.MODEL_ID]  # the sidebar falls back to its default model
    st.session_state[keys.ADD_MODEL_RESULT] = {"removed": f"Removed {model_id} (deleted {removed.name} and its manifest entry)."}


st.subheader("Your models")
try:
    yours = added_models(out_dir)
except CheckpointError as error:
    st.error(f"{out_dir}/manifest.json cannot be read: {error}")
    st.stop()
if not yours:
    st.caption(f"No model has been added to `{out_dir}` yet.")
for entry in yours:
    text_column, button_column = st.columns([6, 1], vertical_alignment="center")
    size = "x".join(map(str, entry["input_size"]))
    text_column.markdown(
        f"**{entry['id']}** · `{entry['arch']}` · {len(entry['classes'])} classes · "
        f"{entry['in_channels']}x{size} ({entry.get('resize', 'stretch')}) · {entry.get('parameters', 0):,} parameters"
    )
    button_column.button("Remove", key=f"remove:{entry['id']}", icon=":material/delete:", on_click=_remove, args=(entry["id"],))
