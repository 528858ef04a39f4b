"""Data hygiene for every task of mmcourse.tasks: no image or pair of the test set is trained on or selected on."""

import hashlib

import numpy as np
import pytest

from mmcourse.tasks import TASKS, load_task


def _image_keys(data) -> set[str]:
    return {hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest() for image in data.images}


def _pair_keys(data) -> set[str]:
    return {
        hashlib.sha1(np.ascontiguousarray(image).tobytes() + caption.encode()).hexdigest()
        for image, caption in zip(data.images, data.captions)
    }


@pytest.fixture(scope="module", params=list(TASKS))
def task(request):
    return request.param, load_task(request.param, n_train=600, seed=0)


def test_no_test_or_validation_image_is_a_training_image(task):
    name, data = task
    train = _image_keys(data["train"])
    assert not train & _image_keys(data["test"]), f"{name}: a test image is also a training image"
    assert not train & _image_keys(data["val"]), f"{name}: a validation image is also a training image"


DIGITS_SHARE_A_POOL = pytest.mark.xfail(
    strict=True,
    reason="known: the digit tasks draw validation and test pairs from the same image pool, so they share pairs; "
    "harmless while no digit preset selects on validation (no patience, no restore_best); to fix in issue 13",
)


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=DIGITS_SHARE_A_POOL) if name.startswith("digits") else name for name in TASKS],
)
def test_no_test_pair_is_a_validation_pair(name):
    data = load_task(name, n_train=600, seed=0)
    assert not _pair_keys(data["val"]) & _pair_keys(data["test"]), (
        f"{name}: model selection would see test pairs"
    )


def test_no_digit_preset_selects_on_validation():
    from mmcourse.tasks import config_for

    for name in ("digits-arithmetic", "digits-captions"):
        config = config_for(name)
        assert config.patience is None and config.target is None and not config.restore_best


@pytest.mark.parametrize("name", ["shapes", "shapes-contrastive"])
def test_shapes_keeps_validation_and_test_images_apart(name):
    data = load_task(name, n_train=600, seed=0)
    assert not _image_keys(data["val"]) & _image_keys(data["test"])


def test_the_checks_can_fail():
    data = load_task("shapes", n_train=600, seed=0)
    assert _image_keys(data["train"]) & _image_keys(data["train"].subset([0, 1]))
