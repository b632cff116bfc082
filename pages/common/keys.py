"""Every session-state and widget key the pages use, in one place."""

MODEL_ID = "model_id"
DATASET_NAME = "dataset_name"
IMAGE_SOURCE = "image_source"
CLASS_FILTER = "class_filter"
SAMPLE_INDEX = "sample_index"
UPLOAD = "upload"
UPLOAD_SEEN = "upload_seen"  # file_id of the last file the image uploader held (each file is decoded once)
UPLOAD_ERROR = "upload_error"  # why the last uploaded image could not be used
GALLERY = "gallery"  # this session's uploaded images: {file digest: SelectedImage}, oldest first
GALLERY_CURRENT = "gallery_current"  # the file digest of the current upload (a selectbox once there are several)
SHOW_MASK = "show_mask"

DATASET_FOLDER = "dataset_folder"  # sidebar text field: a folder of the user's images (folder:<path>)
DATASET_FOLDER_ERROR = "dataset_folder_error"  # why the typed folder cannot be used (the previous dataset stays)
DATASET_UPLOADS = "dataset_uploads"  # sidebar multi-file uploader: images and/or zip archives
DATASET_UPLOAD_NOTES = "dataset_upload_notes"  # {"error": str} or {"skipped": [file: why]} of the last upload set
SESSION_UPLOAD = "session_upload"  # this session's upload set (an unlabelled ImageDataset named upload:<digest>)
USER_DATASETS = "user_datasets"  # folder: and upload: names this session added to the dataset picker
DATASET_NOTICE = "dataset_notice"  # why a model switch kept the dataset (its training data is not here)

SOURCE_DATASET = "Dataset sample"
SOURCE_UPLOAD = "Upload an image"
ALL_CLASSES = "All classes"
TARGET = "target_class"
METHODS = "methods"
HEAVY_REQUESTED = "heavy_requested"  # {(model id, image digest, target, method)} heavy maps the user asked for
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

GAN_ID = "gan_id"
GAN_CLASS = "gan_class"
GAN_CNN = "gan_cnn"
GAN_SEED = "gan_seed"
GAN_TOP_DIMENSIONS = "gan_top_dimensions"
GAN_TOP_DIRECTIONS = "gan_top_directions"
GAN_DIMENSION_OFFSET = "gan_dimension_offset_"  # + dimension index: one slider per latent dimension shown
GAN_DIRECTION_OFFSET = "gan_direction_offset_"  # + SeFa direction index
GAN_OTHER_SEED = "gan_other_seed"
GAN_FRAMES = "gan_frames"
GAN_INTERPOLATION = "gan_interpolation"
GAN_IMAGE = "gan_image"  # the GAN Studio's current image: {gan_id, label, seed, latent, image, digest}

REPORT_SOURCE = "report_source"
REPORT_SOURCE_CHOICE = "report_source_choice"  # the radio's last value, kept outside the widget (see pages/report.py)
REPORT_ON_IMAGE = "The current image"
REPORT_ON_RUN = "A finished evaluation run"
REPORT_METHODS = "report_methods"
REPORT_GAN = "report_gan"
REPORT_NO_GAN = "No GAN sample"
REPORT_GAN_SEED = "report_gan_seed"
REPORT_GAN_CLASS = "report_gan_class"
REPORT_RUN = "report_run"
REPORT_RUN_PATH = "report_run_path"
REPORT_REQUESTED = "report_requested"
REPORT_RESULT = "report_result"
# the Report page's choices, kept while the user visits other pages
REPORT_WIDGETS = (REPORT_METHODS, REPORT_GAN, REPORT_GAN_SEED, REPORT_GAN_CLASS, REPORT_RUN, REPORT_RUN_PATH)

STUDIO_SUBJECT = "studio_subject"  # the Studio page's subject: SUBJECT_DATASET, SUBJECT_UPLOAD or SUBJECT_GAN
STUDIO_METHODS = "studio_methods"  # the attribution methods the Studio page shows beside LSFT and GSFT
SUBJECT_DATASET = "Dataset image"
SUBJECT_UPLOAD = "Your upload"
SUBJECT_GAN = "GAN sample"

# widgets that several pages render and whose value should follow the user from page to page
SHARED_WIDGETS = (
    MODEL_ID,
    DATASET_NAME,
    DATASET_FOLDER,
    IMAGE_SOURCE,
    CLASS_FILTER,
    GALLERY_CURRENT,
    METHODS,
    COLORMAP,
    OPACITY,
    NOISE,
    ETA,
    SFTGAN_KIND,
)
# the Evaluate page's choices, kept while the user visits other pages
EVALUATE_WIDGETS = (
    EVAL_MODELS,
    EVAL_DATASET,
    EVAL_SPLIT,
    EVAL_METHODS,
    EVAL_METRICS,
    EVAL_IMAGES,
    EVAL_SEEDS,
    EVAL_REFERENCE,
    EVAL_PERTURBATION_STEPS,
    EVAL_ROBUSTNESS_IMAGES,
    EVAL_SANITY_IMAGES,
    EVAL_SANITY_STEPS,
)

TCAV_MODEL = "tcav_model"
TCAV_TARGET = "tcav_target"
TCAV_LAYER = "tcav_layer"
TCAV_CONCEPTS = "tcav_concepts"
TCAV_USER_CONCEPT_NAME = "tcav_user_concept_name"
TCAV_USER_CONCEPT_FILES = "tcav_user_concept_files"
TCAV_RANDOMS = "tcav_randoms"
TCAV_IMAGES = "tcav_images"
TCAV_SEED = "tcav_seed"
TCAV_BONFERRONI = "tcav_bonferroni"
TCAV_REQUESTED = "tcav_requested"

SYNTH_DATASET = "synth_dataset"
SYNTH_SEEDS = "synth_seeds"
SYNTH_REAL_IMAGES = "synth_real_images"
SYNTH_SYNTHETIC_IMAGES = "synth_synthetic_images"
SYNTH_EPOCHS = "synth_epochs"
SYNTH_AUDIT_PER_CLASS = "synth_audit_per_class"
SYNTH_AUDIT_METRIC = "synth_audit_metric"
SYNTH_SCORE_IMAGES = "synth_score_images"
SYNTH_REQUESTED = "synth_requested"  # which analysis the user asked to run: "augmentation", "audit" or "score"

# the Add-a-model form: not in KEPT_WIDGETS (its uploads cannot be kept across pages, so neither is the rest; and a
# kept widget is re-assigned on every run, which can undo a click made while a run was still going)
ADD_MODEL_SOURCE = "add_model_source"  # "Architecture + weights" or "ONNX file"
ADD_MODEL_ARCH = "add_model_arch"
ADD_MODEL_UPLOADS = "add_model_uploads"  # generation of the Add-a-model uploaders' keys: bumped to release the files
ADD_MODEL_WEIGHTS = "add_model_weights:"  # + generation
ADD_MODEL_ONNX = "add_model_onnx:"  # + generation
ADD_MODEL_CLASSES_SOURCE = "add_model_classes_source"
ADD_MODEL_CLASSES = "add_model_classes:"  # + generation
ADD_MODEL_SIZE_FROM_ONNX = "add_model_size_from_onnx"
ADD_MODEL_HEIGHT = "add_model_height"
ADD_MODEL_WIDTH = "add_model_width"
ADD_MODEL_CHANNELS = "add_model_channels"
ADD_MODEL_RESIZE = "add_model_resize"
ADD_MODEL_MEAN = "add_model_mean"
ADD_MODEL_STD = "add_model_std"
ADD_MODEL_ID = "add_model_id"
ADD_MODEL_REQUESTED = "add_model_requested"
ADD_MODEL_RESULT = "add_model_result"  # {"summary": text} after a model was added, or {"removed": message}
ADD_MODEL_SELECT = "add_model_select"  # the id just added: made the current model before the sidebar renders
ADD_MODEL_SOURCE_WEIGHTS = "Architecture + weights"
ADD_MODEL_SOURCE_ONNX = "ONNX file"
ADD_MODEL_CLASSES_FILE = "Upload a classes file"
ADD_MODEL_CLASSES_IMAGENET = "ImageNet classes (1,000)"

CAPTIONER_ID = "captioner_id"
CAPTION_SOURCE = "caption_source"
CAPTION_SOURCE_SCENE = "Test scene"
CAPTION_SOURCE_UPLOAD = "Upload"
CAPTION_SCENE = "caption_scene"
CAPTION_WORD = "caption_word"  # the chosen word: ((captioner id, image digest), position); not a widget
CAPTION_WORD_BUTTON = "caption_word_button:"  # + word position: one button per word of the caption

SURVEY_ADMIN = "survey_admin_signed_in"
SURVEY_SELECTED = "survey_selected"  # the code of the survey the admin / results pages show
SURVEY_CREATED = "survey_created"  # message after a survey was created
SURVEY_TITLE = "survey_title"
SURVEY_TASK = "survey_task"  # "classification" or "captioning"
SURVEY_CAPTIONER = "survey_captioner"
SURVEY_CAPTION_METHODS = "survey_caption_methods"  # captioning methods (CAPTION_METHODS), kept apart from the classifier's
SURVEY_MODEL = "survey_model"
SURVEY_IMAGE_SOURCE = "survey_image_source"
SURVEY_DATASET = "survey_dataset"
SURVEY_UPLOADS = "survey_uploads"
SURVEY_METHODS = "survey_methods"
SURVEY_QUESTIONS = "survey_questions"
SURVEY_SEED = "survey_seed"
SURVEY_ATTENTION_CHECKS = "survey_attention_checks"
SURVEY_ATTENTION_KINDS = "survey_attention_kinds"
SURVEY_SHUFFLE = "survey_shuffle"
SURVEY_CONSENT = "survey_consent"
SURVEY_INSTRUCTIONS = "survey_instructions"
SURVEY_CREATE_REQUESTED = "survey_create_requested"
SURVEY_RESPONDENTS = "survey_respondents"  # results page: all respondents or those who passed the attention checks
SURVEY_CODE_INPUT = "survey_code_input"  # respondent page: a code typed in by hand
SURVEY_INSTRUCTIONS_READ = "survey_instructions_read"  # respondent page: per survey code + token
SURVEY_ANSWER = "survey_answer"
SURVEY_CONFIDENCE = "survey_confidence"
SURVEY_COMMENT = "survey_comment"
SURVEY_DECLINED = "survey_declined"
SURVEY_MESSAGE = "survey_message"  # respondent page: a warning to show after a submit

# the Concepts and Synthetic data pages' choices, kept while the user visits other pages
CONCEPTS_WIDGETS = (
    TCAV_MODEL,
    TCAV_TARGET,
    TCAV_LAYER,
    TCAV_CONCEPTS,
    TCAV_USER_CONCEPT_NAME,
    TCAV_RANDOMS,
    TCAV_IMAGES,
    TCAV_SEED,
    TCAV_BONFERRONI,
)
SYNTHETIC_WIDGETS = (
    SYNTH_DATASET,
    SYNTH_SEEDS,
    SYNTH_REAL_IMAGES,
    SYNTH_SYNTHETIC_IMAGES,
    SYNTH_EPOCHS,
    SYNTH_AUDIT_PER_CLASS,
    SYNTH_AUDIT_METRIC,
    SYNTH_SCORE_IMAGES,
)
# the GAN Studio's choices (its slider offsets start again at 0 on return)
GAN_STUDIO_WIDGETS = (
    GAN_ID,
    GAN_CLASS,
    GAN_CNN,
    GAN_SEED,
    GAN_TOP_DIMENSIONS,
    GAN_TOP_DIRECTIONS,
    GAN_OTHER_SEED,
    GAN_FRAMES,
    GAN_INTERPOLATION,
)
# the survey admin's form, kept while the admin visits other pages
SURVEY_ADMIN_WIDGETS = (
    SURVEY_TITLE,
    SURVEY_TASK,
    SURVEY_CAPTIONER,
    SURVEY_CAPTION_METHODS,
    SURVEY_MODEL,
    SURVEY_IMAGE_SOURCE,
    SURVEY_DATASET,
    SURVEY_METHODS,
    SURVEY_QUESTIONS,
    SURVEY_SEED,
    SURVEY_ATTENTION_CHECKS,
    SURVEY_ATTENTION_KINDS,
    SURVEY_SHUFFLE,
    SURVEY_CONSENT,
    SURVEY_INSTRUCTIONS,
    SURVEY_SELECTED,
    SURVEY_RESPONDENTS,
)
# the Captioning page's choices
CAPTIONING_WIDGETS = (CAPTIONER_ID, CAPTION_SOURCE, CAPTION_SCENE)
STUDIO_WIDGETS = (STUDIO_SUBJECT, STUDIO_METHODS)
# every widget whose value survives a page switch (file uploaders cannot be re-assigned and are not here)
KEPT_WIDGETS = frozenset(
    SHARED_WIDGETS
    + EVALUATE_WIDGETS
    + REPORT_WIDGETS
    + CONCEPTS_WIDGETS
    + SYNTHETIC_WIDGETS
    + GAN_STUDIO_WIDGETS
    + SURVEY_ADMIN_WIDGETS
    + CAPTIONING_WIDGETS
    + STUDIO_WIDGETS
)
