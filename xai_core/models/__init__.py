"""CNN zoo, model cards, safe checkpoint I/O, registry and training."""

from .card import ModelCard, Prediction
from .checkpoints import CheckpointError, load_state_dict_file, save_state_dict, sha256_of
from .registry import EFFICIENTNET_LITE0_ID, imagenet_class_names, list_models, load_model, model_info
from .training import TrainConfig, train_cnn
from .zoo import ARCHITECTURES, TRAINABLE_ARCHITECTURES, build_model, count_parameters

__all__ = [
    "ARCHITECTURES",
    "CheckpointError",
    "EFFICIENTNET_LITE0_ID",
    "ModelCard",
    "Prediction",
    "TRAINABLE_ARCHITECTURES",
    "TrainConfig",
    "build_model",
    "count_parameters",
    "imagenet_class_names",
    "list_models",
    "load_model",
    "load_state_dict_file",
    "model_info",
    "save_state_dict",
    "sha256_of",
    "train_cnn",
]
