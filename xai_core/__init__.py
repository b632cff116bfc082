"""XAI Studio engine: explain CNN classifiers and GAN generators, measure how far explanations can be trusted.

Public API for notebooks and scripts::

    from xai_core import load_dataset, load_model
    card = load_model("vgg-mnist")
    image, label, mask = load_dataset("mnist", split="test")[0]
    print(card.predict(image)[0].name, card.classes[label])
    maps = explain(card, image, methods=["grad_cam", "saliency"])      # {method: Tensor[1,1,H,W] in [0,1]}
    layers = layer_gradcams(card.model, card.preprocess(image))        # every conv layer, one pass
    cgmas = cumulative_gradcam_averages(layers, eta=8)                 # Tensor[1,8,H,W]

    # your own model, in memory: saved (safetensors + manifest entry) and usable by id everywhere
    register_model("my-resnet", my_resnet50, ["cat", "dog"], input_size=(224, 224))
    card = load_model("my-resnet")
"""

from .attribution import cumulative_gradcam_averages, layer_gradcams, layer_positions
from .data import DatasetUnavailable, ImageDataset, ImageDecodeError, list_datasets, load_dataset
from .explainers import EXPLAINERS, explain
from .models import CheckpointError, ModelCard, list_models, load_model
from .models.sources import register_model
from .versions import __version__

__all__ = [
    "EXPLAINERS",
    "CheckpointError",
    "DatasetUnavailable",
    "ImageDataset",
    "ImageDecodeError",
    "ModelCard",
    "__version__",
    "cumulative_gradcam_averages",
    "explain",
    "layer_gradcams",
    "layer_positions",
    "list_datasets",
    "list_models",
    "load_dataset",
    "load_model",
    "register_model",
]
