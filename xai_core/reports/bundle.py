"""The unified explanation layer (unified XAI framework paper, §3.4): every kind of explanation brought to a
comparable scale and held, with its provenance, in one :class:`ExplanationBundle`.

Normalisation, one definition per kind:

* pixel maps (Tensor[N,1,H,W] or [H,W]): resized bilinearly to a common size, then min-max scaled to [0, 1] per
  map; a constant map (an all-zero one included) becomes all zeros (:func:`normalise_map`);
* concept scores (TCAV, Kim et al. ICML 2018): the score itself is already a share in [0, 1]; beside it the
  score centred on the mean score of the random concepts, so 0 means "no more than chance"
  (:func:`normalise_concept_scores`);
* latent sensitivities (Tensor[D], E_z ||dG(z)/dz_i||): shares of their sum (summing to 1) and ranks
  (1 = most sensitive) (:func:`normalise_latent_sensitivity`).

The builders :func:`bundle_for_image` and :func:`bundle_for_generated` explain a real image and a GAN sample
with the same CNN, score the maps with the per-image badges and record where everything came from
(model and GAN checkpoint sha256 from the manifests, data sha256, seed, library versions, time, command).
:mod:`xai_core.reports.audit_report` renders bundles as one self-contained HTML file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
import torch.nn.functional as F

from ..attribution.base import normalise_maps
from ..data import load_dataset
from ..explainers import explain_image
from ..generative.dcgan import LatentGenerator, gan_info, load_gan, sample_latents
from ..generative.latent import latent_sensitivity
from ..metrics.badges import image_badges
from ..metrics.suite import METRICS
from ..models import ModelCard, model_info
from ..versions import library_versions

if TYPE_CHECKING:
    from ..attribution.tcav import TCAVResult

BUNDLE_FORMAT = "xai-studio-explanation-bundle/1"
ORIGINAL, GENERATED, GAN = "original", "generated", "gan"
SUBJECTS = (ORIGINAL, GENERATED)
TOP_LATENT_MAPS = 4

ProgressCallback = Callable[[float, str], None]


# ---------------------------------------------------------------- normalisation


def normalise_map(saliency: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """A pixel map on the common scale: Tensor[N,1,H,W] -> Tensor[N,1,*size], or [H,W] -> [*size].

    Bilinear resize to ``size`` (None keeps the size), then per-map min-max to [0, 1]; a constant map
    (an all-zero one included) becomes all zeros. Non-finite values are refused.
    """
    if saliency.ndim == 2:
        batch = saliency[None, None]
    elif saliency.ndim == 4 and saliency.shape[1] == 1:
        batch = saliency
    else:
        raise ValueError(f"a pixel map must be [N,1,H,W] or [H,W], got {tuple(saliency.shape)}")
    batch = batch.detach().float().cpu()
    if not torch.isfinite(batch).all():
        raise ValueError("a pixel map holds NaN or infinite values")
    if size is not None and tuple(batch.shape[-2:]) != tuple(size):
        batch = F.interpolate(batch, size=tuple(size), mode="bilinear", align_corners=False)
    normalised = normalise_maps(batch)
    return normalised[0, 0] if saliency.ndim == 2 else normalised


@dataclass(frozen=True)
class NormalisedConceptScore:
    """One concept's TCAV result for one class at one layer (Kim et al., ICML 2018).

    ``score``: share of the class's inputs whose directional derivative along the CAV is positive, in [0, 1];
    ``random_mean``: mean score of the random-concept CAVs; ``centred = score - random_mean`` in [-1, 1];
    ``p_value``: two-sided t-test of the concept's scores against the random ones (None when not run)."""

    concept: str
    score: float
    centred: float
    random_mean: float
    p_value: float | None = None
    layer: str = ""
    target: str = ""

    def significant(self, alpha: float = 0.05) -> bool | None:
        return None if self.p_value is None else self.p_value < alpha


def normalise_concept_scores(
    scores: Mapping[str, float],
    random_scores: Sequence[float],
    p_values: Mapping[str, float] | None = None,
    layer: str = "",
    target: str = "",
) -> list[NormalisedConceptScore]:
    """TCAV scores {concept: score in [0, 1]} and the scores of the random concepts -> :class:`NormalisedConceptScore` list,
    each centred on the random mean (in the order of ``scores``)."""
    values = [float(v) for v in random_scores]
    if not values:
        raise ValueError("centring needs the scores of at least one random concept")
    for name, value in [*scores.items(), *(("random", v) for v in values)]:
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"a TCAV score is a share in [0, 1]; {name} has {value}")
    random_mean = sum(values) / len(values)
    p_values = p_values or {}
    return [
        NormalisedConceptScore(
            str(name),
            float(score),
            float(score) - random_mean,
            random_mean,
            None if p_values.get(name) is None else float(p_values[name]),
            layer,
            target,
        )
        for name, score in scores.items()
    ]


def normalise_latent_sensitivity(sensitivity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sensitivities Tensor[D] (>= 0) -> (shares Tensor[D] float64 summing to 1, ranks int64 Tensor[D], 1 = most
    sensitive, ties broken by dimension index). All-zero sensitivities give all-zero shares."""
    if sensitivity.ndim != 1:
        raise ValueError(f"latent sensitivities must be [D], got {tuple(sensitivity.shape)}")
    values = sensitivity.detach().double().cpu()
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError("latent sensitivities must be finite and non-negative")
    total = values.sum()
    shares = values / total if total > 0 else torch.zeros_like(values)
    order = torch.argsort(values, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(1, values.numel() + 1)
    return shares, ranks


@dataclass
class LatentSensitivityShares:
    """A GAN sample's latent sensitivities, raw and normalised, with per-pixel maps of the top dimensions.

    sensitivity: Tensor[D] (E_z ||dG(z)/dz_i||_2 at the sample); shares, ranks: :func:`normalise_latent_sensitivity`;
    pixel_maps: {dimension: Tensor[H,W] in [0,1]} where that dimension acts (channel mean of |dG/dz_i|, normalised)."""

    sensitivity: torch.Tensor
    shares: torch.Tensor
    ranks: torch.Tensor
    pixel_maps: dict[int, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def from_sensitivity(
        cls, sensitivity: torch.Tensor, pixel_maps: torch.Tensor | None = None, top: int = TOP_LATENT_MAPS
    ) -> LatentSensitivityShares:
        """sensitivity Tensor[D]; pixel_maps Tensor[D,C,H,W] (of :func:`latent_sensitivity`) or None."""
        shares, ranks = normalise_latent_sensitivity(sensitivity)
        maps = {}
        if pixel_maps is not None:
            for dimension in torch.argsort(ranks)[:top].tolist():
                maps[dimension] = normalise_map(pixel_maps[dimension].float().mean(dim=0))
        return cls(sensitivity.detach().double().cpu(), shares, ranks, maps)

    def top(self, k: int) -> list[int]:
        """The k most sensitive dimensions, most sensitive first."""
        return torch.argsort(self.ranks)[:k].tolist()


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class Score:
    """One number with what it needs to be read: its direction and family. ``method`` is the explanation it
    scores ("" for model- or GAN-level figures); ``subject`` is original, generated or gan."""

    name: str
    value: float
    label: str
    family: str
    higher_is_better: bool | None
    unit: str = ""
    method: str = ""
    subject: str = ORIGINAL

    @property
    def key(self) -> str:
        return score_key(self.subject, self.method, self.name)


def score_key(subject: str, method: str, name: str) -> str:
    return f"{subject}/{method}/{name}" if method else f"{subject}/{name}"


# Metrics the bundle scores that are not suite metrics: (label, family, higher_is_better, unit).
EXTRA_SCORES: dict[str, tuple[str, str, bool | None, str]] = {
    "mask_dice": ("Dice vs mask", "localisation", True, ""),
    "target_probability": ("Target probability", "prediction", None, ""),
    "fid": ("FID (vs test split)", "generative", False, ""),
    "fid_real_vs_real": ("FID real vs real (baseline)", "generative", None, ""),
    "class_accuracy": ("CNN accuracy on generated classes", "generative", True, ""),
}


def score_metadata(name: str) -> tuple[str, str, bool | None, str]:
    """(label, family, higher_is_better, unit) of a known metric: a suite metric or one of :data:`EXTRA_SCORES`."""
    if name in METRICS:
        metric = METRICS[name]
        return metric.label, metric.family, metric.higher_is_better, metric.unit
    if name in EXTRA_SCORES:
        return EXTRA_SCORES[name]
    raise KeyError(f"no metadata for score {name!r}; give it with ExplanationBundle.add_score")


# ---------------------------------------------------------------- provenance


def tensor_sha256(tensor: torch.Tensor) -> str:
    """sha256 of a tensor's dtype, shape and contiguous bytes (the same pixels give the same digest everywhere)."""
    array = tensor.detach().cpu().contiguous().numpy()
    digest = hashlib.sha256(f"{array.dtype.str}{tuple(array.shape)}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def model_provenance(model_id: str) -> dict:
    """Id, architecture, training data and checkpoint sha256 of a model, from its manifest entry."""
    info = model_info(model_id)
    return {
        "id": model_id,
        "arch": info.get("arch", ""),
        "dataset": info.get("dataset", ""),
        "sha256": info["sha256"],
        **({"command": info["command"]} if "command" in info else {}),
    }


def gan_provenance(gan_id: str) -> dict:
    """Id, kind, data, seed, checkpoint sha256 and training command of a GAN, from its manifest entry."""
    info = gan_info(gan_id)
    return {
        "id": gan_id,
        "kind": info.get("kind", ""),
        "dataset": info.get("dataset", ""),
        "seed": info.get("seed"),
        "sha256": info["sha256"],
        **({"command": info["command"]} if "command" in info else {}),
    }


def data_provenance(
    image: torch.Tensor, dataset: str | None = None, split: str = "test", index: int | None = None, source: str = ""
) -> dict:
    """Where an image came from: sha256 of its pixels and, for a dataset sample, the dataset's name, split,
    index and the sha256 of the split's uint8 image tensor."""
    entry: dict = {
        "source": source or (f"{dataset} {split} #{index}" if dataset is not None else "image"),
        "image_sha256": tensor_sha256(image.float()),
    }
    if dataset is not None:
        data = load_dataset(dataset, split)
        entry.update(dataset=dataset, split=split, dataset_sha256=tensor_sha256(data.images), dataset_size=len(data))
        if index is not None:
            entry["index"] = int(index)
    return entry


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- the bundle


@dataclass
class ExplanationBundle:
    """Every explanation of one model's decision on an image and/or a GAN sample, on comparable scales.

    images: {subject: Tensor[C,H,W] in [0,1]} for ``original`` and/or ``generated``; captions: {subject: text};
    latent: the generated sample's code Tensor[D] or None; generated_label: its class or None;
    maps: {subject: {method: Tensor[H,W] in [0,1] at ``map_size``}}; not_applicable: {subject: {method: reason}};
    predictions: {subject: [{"label", "name", "probability"}]} (top-k); targets: {subject: class explained};
    scores: {key: :class:`Score`}; concept_scores: [:class:`NormalisedConceptScore`];
    latent_sensitivity: :class:`LatentSensitivityShares` or None; charts: {title: plotly figure};
    provenance: model, data, gan, seed, versions, created, command, config.
    """

    title: str = ""
    classes: list[str] = field(default_factory=list)
    images: dict[str, torch.Tensor] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    latent: torch.Tensor | None = None
    generated_label: int | None = None
    map_size: tuple[int, int] | None = None
    maps: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    not_applicable: dict[str, dict[str, str]] = field(default_factory=dict)
    predictions: dict[str, list[dict]] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    scores: dict[str, Score] = field(default_factory=dict)
    concept_scores: list[NormalisedConceptScore] = field(default_factory=list)
    latent_sensitivity: LatentSensitivityShares | None = None
    charts: dict[str, go.Figure] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    # -- adding explanations

    def set_image(self, subject: str, image: torch.Tensor, caption: str = "") -> None:
        """image: Tensor[C,H,W] (or [1,C,H,W]) in [0,1]."""
        _check_subject(subject)
        picture = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
        if picture.ndim != 3 or picture.shape[0] not in (1, 3):
            raise ValueError(f"an image must be [C,H,W] with 1 or 3 channels, got {tuple(image.shape)}")
        self.images[subject] = picture.detach().float().cpu().clamp(0, 1)
        self.captions[subject] = caption

    def add_map(self, method: str, saliency: torch.Tensor, subject: str = ORIGINAL) -> torch.Tensor:
        """Normalise one map (Tensor[1,1,H,W], [1,H,W] or [H,W]) to the bundle's map size (set by the first
        map when unset) and keep it; returns the normalised Tensor[H,W]."""
        _check_subject(subject)
        if saliency.ndim < 2 or saliency.numel() != saliency.shape[-2] * saliency.shape[-1]:
            raise ValueError(f"{method}: expected one map, got {tuple(saliency.shape)}")
        plane = saliency.reshape(saliency.shape[-2:])
        if self.map_size is None:
            self.map_size = (int(plane.shape[0]), int(plane.shape[1]))
        normalised = normalise_map(plane, self.map_size)
        self.maps.setdefault(subject, {})[method] = normalised
        return normalised

    def add_not_applicable(self, method: str, reason: str, subject: str = ORIGINAL) -> None:
        _check_subject(subject)
        self.not_applicable.setdefault(subject, {})[method] = reason

    def add_score(
        self,
        name: str,
        value: float,
        label: str,
        family: str,
        higher_is_better: bool | None,
        unit: str = "",
        method: str = "",
        subject: str = ORIGINAL,
    ) -> Score:
        score = Score(name, float(value), label, family, higher_is_better, unit, method, subject)
        self.scores[score.key] = score
        return score

    def add_scores(self, values: Mapping[str, float], method: str = "", subject: str = ORIGINAL) -> list[Score]:
        """Known metrics {name: value} (suite metrics, badges, GAN figures) with their metadata looked up."""
        return [self.add_score(name, value, *score_metadata(name), method=method, subject=subject) for name, value in values.items()]

    def add_concept_scores(
        self,
        scores: Mapping[str, float],
        random_scores: Sequence[float],
        p_values: Mapping[str, float] | None = None,
        layer: str = "",
        target: str = "",
    ) -> list[NormalisedConceptScore]:
        """TCAV scores of some concepts for one class at one layer, centred on the random concepts' mean."""
        added = normalise_concept_scores(scores, random_scores, p_values, layer, target)
        self.concept_scores.extend(added)
        return added

    def add_tcav_result(self, result: TCAVResult) -> list[NormalisedConceptScore]:
        """Every concept of a :func:`xai_core.attribution.tcav.tcav_scores` result: mean score over the runs, centred on
        the random-vs-random runs' mean, with the (Bonferroni-adjusted when the run used it) p-value."""
        added = self.add_concept_scores(
            {c.concept: c.score for c in result.concepts},
            result.random_run_scores,
            {c.concept: c.p_adjusted for c in result.concepts},
            result.layer,
            result.target_class,
        )
        self.provenance.setdefault("config", {}).setdefault("tcav", []).append(
            {
                "model": result.model_id,
                "layer": result.layer,
                "target": result.target,
                "seed": result.seed,
                "random_sets": result.n_random_sets,
                "class_images": result.n_class_images,
                "bonferroni": result.bonferroni,
            }
        )
        return added

    def set_latent_sensitivity(
        self, sensitivity: torch.Tensor, pixel_maps: torch.Tensor | None = None, top: int = TOP_LATENT_MAPS
    ) -> LatentSensitivityShares:
        """sensitivity Tensor[D]; pixel_maps Tensor[D,C,H,W] or None (see :class:`LatentSensitivityShares`)."""
        self.latent_sensitivity = LatentSensitivityShares.from_sensitivity(sensitivity, pixel_maps, top)
        return self.latent_sensitivity

    def add_chart(self, title: str, figure: go.Figure) -> None:
        self.charts[title] = figure

    def scores_for(self, subject: str) -> list[Score]:
        return [s for s in self.scores.values() if s.subject == subject]

    # -- JSON

    def to_json(self, indent: int | None = None) -> str:
        """Everything as JSON; tensors as {"shape", "dtype", "base64"} of their little-endian bytes (exact)."""
        sensitivity = None
        if self.latent_sensitivity is not None:
            s = self.latent_sensitivity
            sensitivity = {
                "sensitivity": _encode(s.sensitivity),
                "shares": _encode(s.shares),
                "ranks": _encode(s.ranks),
                "pixel_maps": {str(d): _encode(m) for d, m in s.pixel_maps.items()},
            }
        document = {
            "format": BUNDLE_FORMAT,
            "title": self.title,
            "classes": self.classes,
            "images": {k: _encode(v) for k, v in self.images.items()},
            "captions": self.captions,
            "latent": None if self.latent is None else _encode(self.latent),
            "generated_label": self.generated_label,
            "map_size": None if self.map_size is None else list(self.map_size),
            "maps": {subject: {m: _encode(v) for m, v in maps.items()} for subject, maps in self.maps.items()},
            "not_applicable": self.not_applicable,
            "predictions": self.predictions,
            "targets": self.targets,
            "scores": [asdict(s) for s in self.scores.values()],
            "concept_scores": [asdict(c) for c in self.concept_scores],
            "latent_sensitivity": sensitivity,
            "charts": {title: _figure_document(figure) for title, figure in self.charts.items()},
            "provenance": self.provenance,
        }
        return json.dumps(document, indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ExplanationBundle:
        document = json.loads(text)
        if document.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"not an explanation bundle (format {document.get('format')!r}, expected {BUNDLE_FORMAT!r})")
        sensitivity = None
        if document["latent_sensitivity"] is not None:
            s = document["latent_sensitivity"]
            sensitivity = LatentSensitivityShares(
                _decode(s["sensitivity"]),
                _decode(s["shares"]),
                _decode(s["ranks"]),
                {int(d): _decode(m) for d, m in s["pixel_maps"].items()},
            )
        return cls(
            title=document["title"],
            classes=list(document["classes"]),
            images={k: _decode(v) for k, v in document["images"].items()},
            captions=dict(document["captions"]),
            latent=None if document["latent"] is None else _decode(document["latent"]),
            generated_label=document["generated_label"],
            map_size=None if document["map_size"] is None else tuple(document["map_size"]),
            maps={subject: {m: _decode(v) for m, v in maps.items()} for subject, maps in document["maps"].items()},
            not_applicable=document["not_applicable"],
            predictions=document["predictions"],
            targets={k: int(v) for k, v in document["targets"].items()},
            scores={score.key: score for score in (Score(**entry) for entry in document["scores"])},
            concept_scores=[NormalisedConceptScore(**entry) for entry in document["concept_scores"]],
            latent_sensitivity=sensitivity,
            charts={title: pio.from_json(json.dumps(figure)) for title, figure in document["charts"].items()},
            provenance=document["provenance"],
        )


def _check_subject(subject: str) -> None:
    if subject not in SUBJECTS:
        raise ValueError(f"subject must be one of {SUBJECTS}, got {subject!r}")


def _figure_document(figure: go.Figure) -> dict:
    """A plotly figure as a JSON-ready dict with sorted keys (plotly's own key order is not stable over a round trip)."""
    return json.loads(pio.to_json(figure, validate=False, pretty=False), object_pairs_hook=lambda pairs: dict(sorted(pairs)))


_DTYPES = {"float32": ("<f4", torch.float32), "float64": ("<f8", torch.float64), "int64": ("<i8", torch.int64)}


def _encode(tensor: torch.Tensor) -> dict:
    array = tensor.detach().cpu().contiguous().numpy()
    dtype = str(array.dtype)
    if dtype not in _DTYPES:
        raise ValueError(f"cannot store a {dtype} tensor in a bundle")
    data = array.astype(_DTYPES[dtype][0], copy=False).tobytes()
    return {"shape": list(array.shape), "dtype": dtype, "base64": base64.b64encode(data).decode("ascii")}


def _decode(entry: dict) -> torch.Tensor:
    little_endian, _ = _DTYPES[entry["dtype"]]
    array = np.frombuffer(base64.b64decode(entry["base64"]), dtype=little_endian).reshape(entry["shape"])
    return torch.from_numpy(array.astype(np.dtype(entry["dtype"]), copy=True))


# ---------------------------------------------------------------- builders


def explain_subject(
    bundle: ExplanationBundle,
    subject: str,
    card: ModelCard,
    image: torch.Tensor,
    target: int | None,
    methods: Sequence[str],
    seed: int = 0,
    mask: torch.Tensor | None = None,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Predict, explain and score one image into ``bundle`` under ``subject``; returns the class explained.

    image: Tensor[C,H,W] in [0,1]; target None explains the prediction; mask: Tensor[1,H,W] or None. Methods
    undefined on the model, or whose weights are missing, are recorded as not applicable. Each method's map is
    computed after ``torch.manual_seed(seed)`` (SmoothGrad's noise). Scores: :func:`image_badges` per method and
    the target's probability.
    """

    def progress(fraction: float, step: str) -> None:
        if on_progress is not None:
            on_progress(fraction, f"{subject}: {step}")

    explanation = explain_image(card, image, methods, target, mask, badges=image_badges, seed=seed, on_progress=progress)
    bundle.predictions[subject] = [{"label": p.label, "name": p.name, "probability": p.probability} for p in explanation.predictions]
    bundle.targets[subject] = target = explanation.target
    bundle.add_scores({"target_probability": explanation.target_probability}, subject=subject)
    for method in methods:
        if method in explanation.maps:
            bundle.add_map(method, explanation.maps[method], subject)
        else:
            bundle.add_not_applicable(method, explanation.not_applicable[method], subject)
    for method, values in explanation.badges.items():
        bundle.add_scores(values, method=method, subject=subject)
    return target


def _new_bundle(card: ModelCard, title: str, seed: int, command: str) -> ExplanationBundle:
    return ExplanationBundle(
        title=title or f"{card.id} audit",
        classes=list(card.classes),
        map_size=tuple(card.input_size),
        provenance={
            "model": model_provenance(card.id),
            "seed": int(seed),
            "versions": library_versions(),
            "created": utc_timestamp(),
            "command": command,
            "config": {},
        },
    )


def bundle_for_image(
    card: ModelCard,
    image: torch.Tensor,
    target: int | None = None,
    methods: Sequence[str] = ("grad_cam",),
    seed: int = 0,
    *,
    mask: torch.Tensor | None = None,
    dataset: str | None = None,
    split: str = "test",
    index: int | None = None,
    source: str = "",
    title: str = "",
    command: str = "",
    on_progress: ProgressCallback | None = None,
) -> ExplanationBundle:
    """Explain a real image: prediction, each method's map (normalised to the model's input size), per-image badges,
    and provenance (model sha256 from the manifest, the image's sha256 and, for a dataset sample, the dataset's).

    image: Tensor[C,H,W] in [0,1]; target None explains the prediction; mask: Tensor[1,H,W] or None.
    """
    bundle = _new_bundle(card, title, seed, command)
    # the maps cover the part of the image the model sees (its centre under center_crop): the report draws them there
    bundle.set_image(ORIGINAL, card.field_of_view(image), source or (f"{dataset} {split} #{index}" if dataset is not None else "image"))
    mask = None if mask is None else card.field_of_view(mask)  # scored against the maps, over the same region
    explained = explain_subject(bundle, ORIGINAL, card, image, target, methods, seed, mask, on_progress)
    bundle.provenance["data"] = data_provenance(image, dataset, split, index, source)
    bundle.provenance["config"].update(methods=list(methods), target=explained, target_requested=target)
    return bundle


def _generator_inputs(
    generator: LatentGenerator, gan_id: str, latent: torch.Tensor | None, label: int | None, gan_seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The checked latent Tensor[D] (seeded when None) and class labels Tensor[1] (None for an unconditional GAN);
    ValueError for a latent of the wrong size, a missing or out-of-range class, or a class for an unconditional GAN."""
    if latent is None:
        latent = sample_latents(1, generator.latent_dim, gan_seed)[0]
    latent = latent.detach().float().reshape(-1)
    if latent.numel() != generator.latent_dim:
        raise ValueError(f"{gan_id} takes a latent code of {generator.latent_dim} values, got {latent.numel()}")
    if not generator.conditional:
        if label is not None:
            raise ValueError(f"{gan_id} is unconditional: it takes no class")
        return latent, None
    if label is None:
        raise ValueError(f"{gan_id} is class-conditional: choose a class (0..{generator.num_classes - 1})")
    if not 0 <= int(label) < generator.num_classes:
        raise ValueError(f"{gan_id}: class must be in 0..{generator.num_classes - 1}, got {label}")
    return latent, torch.tensor([int(label)])


def _gan_figures(info: dict) -> dict[str, float]:
    """The finite FID, real-vs-real FID and class accuracy a GAN's manifest entry records."""
    metrics = info.get("metrics", {})
    names = ("fid", "fid_real_vs_real", "class_accuracy")
    return {name: metrics[name] for name in names if isinstance(metrics.get(name), (int, float)) and math.isfinite(metrics[name])}


def bundle_for_generated(
    card: ModelCard,
    gan_id: str,
    latent: torch.Tensor | None = None,
    label: int | None = None,
    methods: Sequence[str] = ("grad_cam",),
    *,
    gan_seed: int = 0,
    target: int | None = None,
    seed: int = 0,
    generator: LatentGenerator | None = None,
    bundle: ExplanationBundle | None = None,
    title: str = "",
    command: str = "",
    on_progress: ProgressCallback | None = None,
) -> ExplanationBundle:
    """Explain a GAN sample with the CNN: G(latent, label), its prediction, maps and badges, and the latent
    sensitivities of that sample (E ||dG(z)/dz_i|| at z = latent, exact via jvp), with the GAN's manifest
    figures (FID beside its real-vs-real baseline, class accuracy) and its sha256 in the provenance.

    latent: Tensor[D] (None: ``sample_latents(1, D, gan_seed)``); label: the class of a conditional GAN (required
    there, refused for an unconditional one); target None explains ``label`` when the GAN was trained on the
    model's classes, else the prediction. ``generator`` defaults to ``load_gan(gan_id)``. ``bundle`` adds the
    sample to an existing bundle of the same model (e.g. :func:`bundle_for_image`'s), else a new one is made.
    """
    generator = load_gan(gan_id) if generator is None else generator
    info = gan_info(gan_id)
    latent, labels = _generator_inputs(generator, gan_id, latent, label, gan_seed)
    if bundle is None:
        bundle = _new_bundle(card, title, seed, command)
    elif bundle.provenance.get("model", {}).get("id") != card.id:
        raise ValueError(f"the bundle explains {bundle.provenance.get('model', {}).get('id')}, not {card.id}")
    with torch.no_grad():
        image = generator(latent[None], labels)[0]
    gan_classes = list(info.get("classes", []))
    if target is None and label is not None and gan_classes == list(card.classes):
        target = int(label)
    class_name = f", class {gan_classes[int(label)] if int(label) < len(gan_classes) else label}" if label is not None else ""
    bundle.set_image(GENERATED, image, f"{gan_id}, seed {gan_seed}{class_name}")
    bundle.latent, bundle.generated_label = latent.clone(), None if label is None else int(label)
    explained = explain_subject(
        bundle,
        GENERATED,
        card,
        image,
        target,
        methods,
        seed,
        on_progress=None if on_progress is None else lambda f, m: on_progress(0.8 * f, m),
    )
    result = latent_sensitivity(lambda z: generator(z, labels), latent[None])
    bundle.set_latent_sensitivity(result.sensitivity, result.pixel_maps)
    bundle.add_scores(_gan_figures(info), subject=GAN)
    bundle.provenance["gan"] = gan_provenance(gan_id)
    bundle.provenance["config"].update(
        gan=gan_id, gan_seed=int(gan_seed), label=bundle.generated_label, generated_target=explained, generated_methods=list(methods)
    )
    if on_progress is not None:
        on_progress(1.0, "generated: latent sensitivity")
    return bundle
