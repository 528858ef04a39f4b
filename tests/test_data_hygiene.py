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


@pytest.mark.parametrize("name", list(TASKS))
def test_no_test_pair_is_a_validation_pair(name):
    data = load_task(name, n_train=600, seed=0)
    assert not _pair_keys(data["val"]) & _pair_keys(data["test"]), (
        f"{name}: model selection would see test pairs"
    )


@pytest.mark.parametrize("name", list(TASKS))
def test_validation_and_test_share_no_image(name):
    data = load_task(name, n_train=600, seed=0)
    assert not _image_keys(data["val"]) & _image_keys(data["test"])


def test_the_checks_can_fail():
    data = load_task("shapes", n_train=600, seed=0)
    assert _image_keys(data["train"]) & _image_keys(data["train"].subset([0, 1]))
