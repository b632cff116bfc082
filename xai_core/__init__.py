"""XAI Studio engine: explain CNN classifiers and GAN generators, measure how far explanations can be trusted.

Public API for notebooks and scripts::

    from xai_core import load_dataset, load_model
    card = load_model("vgg-mnist")
    image, label, mask = load_dataset("mnist", split="test")[0]
    print(card.predict(image)[0].name, card.classes[label])
"""

from .data import DatasetUnavailable, ImageDataset, ImageDecodeError, list_datasets, load_dataset
from .models import CheckpointError, ModelCard, list_models, load_model

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "DatasetUnavailable", "ImageDataset", "ImageDecodeError", "ModelCard", "__version__",
    "list_datasets", "list_models", "load_dataset", "load_model",
]
