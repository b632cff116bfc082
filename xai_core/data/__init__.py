"""Datasets: registry, offline loaders, procedural generators with masks, safe image decoding."""

from .base import DatasetUnavailable, ImageDataset, stratified_split, stroke_masks
from .decode import ImageDecodeError, decode_image, pil_to_tensor, read_image_file
from .registry import DATASETS, dataset_available, list_datasets, load_dataset

__all__ = [
    "DATASETS", "DatasetUnavailable", "ImageDataset", "ImageDecodeError", "dataset_available", "decode_image",
    "list_datasets", "load_dataset", "pil_to_tensor", "read_image_file", "stratified_split", "stroke_masks",
]
