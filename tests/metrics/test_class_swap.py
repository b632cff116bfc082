"""Which class costs a conditional GAN its FID (docs/results.md, "The shapes GANs: what was tried"): the FID with one
class's samples swapped for real training images of that class, on a stand-in generator that draws every class as
real training images but one, which it draws black."""

import pytest
import torch
from torch import nn

from xai_core.data import load_dataset
from xai_core.generative.fid import PenultimateFeatures, fid_score, seeded_subset
from xai_core.generative.training import score_generator, scoring_sets
from xai_core.metrics.gan_experiments import class_swap_fids
from xai_core.models.registry import load_model

BLACK_CLASS = 2


class RealButOneBlack(nn.Module):
    """A conditional 'generator' of ``shapes``: each sample is a training image of its class picked by its latent, but
    class ``BLACK_CLASS``, drawn all black."""

    conditional, num_classes, latent_dim = True, 8, 4

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # where ``generate`` reads the device from
        self.train_images = load_dataset("shapes", "train")

    def forward(self, latents: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        pools = [self.train_images.indices_of_class(int(label)) for label in labels]
        picks = [pool[int(1000 * abs(float(latent[0]))) % len(pool)] for pool, latent in zip(pools, latents, strict=True)]
        images = self.train_images.float_images(torch.tensor(picks))
        return torch.where((labels == BLACK_CLASS)[:, None, None, None], torch.zeros_like(images), images)


@pytest.fixture(scope="module")
def generator() -> RealButOneBlack:
    return RealButOneBlack()


@pytest.fixture(scope="module")
def swapped(generator) -> list[float]:
    return class_swap_fids(generator, "shapes", "vgg-shapes")


def test_swapping_the_class_a_generator_draws_black_brings_its_fid_down_and_no_other_swap_does(generator, swapped):
    scores = score_generator(generator, "shapes", "vgg-shapes")
    fid = scores["fid"]
    assert len(swapped) == 8 and min(range(8), key=swapped.__getitem__) == BLACK_CLASS
    # with the black class swapped every sample is a real training image: the FID falls to near the real-vs-real baseline
    assert swapped[BLACK_CLASS] < 1.5 * scores["fid_real_vs_real"] < fid / 2
    assert all(swapped[label] > 0.8 * fid for label in range(8) if label != BLACK_CLASS)


def test_a_swap_made_on_the_judge_features_is_the_swap_made_on_the_images(generator, swapped):
    reference, labels, generated = scoring_sets(generator, "shapes")
    generated = generated.clone()  # drawn in inference mode
    slots = (labels == BLACK_CLASS).nonzero()[:, 0]
    pool = torch.tensor(generator.train_images.indices_of_class(BLACK_CLASS))
    generated[slots] = generator.train_images.float_images(pool[seeded_subset(len(pool), len(slots), 0)])
    by_hand = fid_score(reference, generated, PenultimateFeatures(load_model("vgg-shapes"))).fid
    assert swapped[BLACK_CLASS] == pytest.approx(by_hand, rel=1e-4)
