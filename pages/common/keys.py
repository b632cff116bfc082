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

EVAL_MODELS = "eval_models"
EVAL_DATASET = "eval_dataset"
EVAL_SPLIT = "eval_split"
EVAL_METHODS = "eval_methods"
EVAL_METRICS = "eval_metrics"
EVAL_IMAGES = "eval_images"
EVAL_SEEDS = "eval_seeds"
EVAL_REFERENCE = "eval_reference"
EVAL_PERTURBATION_STEPS = "eval_perturbation_steps"
EVAL_ROBUSTNESS_IMAGES = "eval_robustness_images"
EVAL_SANITY_IMAGES = "eval_sanity_images"
EVAL_SANITY_STEPS = "eval_sanity_steps"
EVAL_REQUESTED = "eval_requested"
OWN_DATASET = "each model's own"

# widgets that several pages render and whose value should follow the user from page to page
SHARED_WIDGETS = (MODEL_ID, DATASET_NAME, IMAGE_SOURCE, CLASS_FILTER, METHODS, COLORMAP, OPACITY, NOISE, ETA, SFTGAN_KIND)
# the Evaluate page's choices, kept while the user visits other pages
EVALUATE_WIDGETS = (EVAL_MODELS, EVAL_DATASET, EVAL_SPLIT, EVAL_METHODS, EVAL_METRICS, EVAL_IMAGES, EVAL_SEEDS, EVAL_REFERENCE,
                    EVAL_PERTURBATION_STEPS, EVAL_ROBUSTNESS_IMAGES, EVAL_SANITY_IMAGES, EVAL_SANITY_STEPS)
