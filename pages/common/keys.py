"""Every session-state and widget key the pages use, in one place."""

MODEL_ID = "model_id"
DATASET_NAME = "dataset_name"
IMAGE_SOURCE = "image_source"
CLASS_FILTER = "class_filter"
SAMPLE_INDEX = "sample_index"
UPLOAD = "upload"
SHOW_MASK = "show_mask"

SOURCE_DATASET = "Dataset sample"
SOURCE_UPLOAD = "Upload an image"
ALL_CLASSES = "All classes"
TARGET = "target_class"
METHODS = "methods"
COLORMAP = "colormap"
OPACITY = "opacity"
NOISE = "noise"
ETA = "eta"
SFTGAN_KIND = "sftgan_kind"
RELEVANCE_IMAGES = "relevance_images"
RELEVANCE_REQUESTED = "relevance_requested"

# widgets that several pages render and whose value should follow the user from page to page
SHARED_WIDGETS = (MODEL_ID, DATASET_NAME, IMAGE_SOURCE, CLASS_FILTER, METHODS, COLORMAP, OPACITY, NOISE, ETA, SFTGAN_KIND)
