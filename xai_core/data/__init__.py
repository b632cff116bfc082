"""Datasets: registry, offline loaders, procedural generators with masks, safe image decoding, your folders and uploads."""

from .base import UNLABELED, UNLABELLED_NOTE, DatasetUnavailable, ImageDataset, stratified_split, stroke_masks
from .decode import ImageDecodeError, decode_image, pil_to_tensor, read_image_file
from .registry import DATASETS, FOLDER_PREFIX, dataset_available, dataset_has_masks, list_datasets, load_dataset
from .uploads import UPLOAD_PREFIX, dataset_from_files, remember_upload

__all__ = [
    "DATASETS", "DatasetUnavailable", "FOLDER_PREFIX", "ImageDataset", "ImageDecodeError", "UNLABELED", "UNLABELLED_NOTE",
    "UPLOAD_PREFIX", "dataset_available", "dataset_from_files", "dataset_has_masks", "decode_image", "list_datasets",
    "load_dataset", "pil_to_tensor", "read_image_file", "remember_upload", "stratified_split", "stroke_masks",
]
