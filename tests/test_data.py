"""Unit tests of mmcourse.data: the shapes-and-captions generator, digit tasks, splits, flips, loaders."""

import time
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from mmcourse.data import (
    BAG_OF_WORDS_CEILING,
    COLOURS,
    MISMATCH_KINDS,
    MultimodalData,
    PairDataset,
    TensorBatches,
    captions_true,
    digit_pool,
    hflip_data,
    hflip_pair,
    make_digit_arithmetic,
    make_digit_captions,
    make_shapes,
    order_blind_oracle,
    parse_caption,
    split,
    swap_left_right,
)
from mmcourse.data.shapes import object_half_size
from mmcourse.text import Vocab


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(3000, seed=3)


@pytest.fixture(scope="module")
def big():
    return make_shapes(40000, seed=11)


# --- make_shapes: the arrays --------------------------------------------------------


def test_shapes_types_and_ranges(shapes):
    assert shapes.images.shape == (3000, 3, 32, 32) and shapes.images.dtype == np.float32
    assert 0 <= shapes.images.min() and shapes.images.max() <= 1
    assert shapes.labels.dtype == np.int64 and set(np.unique(shapes.labels)) == {0, 1}
    assert shapes.label_names == ("mismatch", "match")
    assert len(shapes.captions) == 3000 and all(isinstance(c, str) for c in shapes.captions)
    assert shapes.meta["colour"].shape == (3000, 2) and shapes.meta["centre"].shape == (3000, 2, 2)


def test_image_size_is_respected():
    assert make_shapes(5, image_size=48).images.shape == (5, 3, 48, 48)
    assert make_shapes(5, image_size=16).images.shape == (5, 3, 16, 16)


def test_deterministic_per_seed():
    a, b, c = make_shapes(200, seed=5), make_shapes(200, seed=5), make_shapes(200, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    np.testing.assert_array_equal(a.labels, b.labels)
    for key in a.meta:
        np.testing.assert_array_equal(a.meta[key], b.meta[key])
    assert not np.array_equal(a.images, c.images) and a.captions != c.captions


def test_captions_follow_the_grammar_and_lengths_differ(shapes):
    relations = Counter(parse_caption(c)[2] for c in shapes.captions)
    assert set(relations) == {"left of", "right of", "above", "below"}
    lengths = {len(c.split()) for c in shapes.captions}
    assert lengths == {8, 9}  # "above"/"below" are one word, "left of"/"right of" two


def test_objects_differ_in_colour_and_shape_and_are_separated(shapes):
    meta = shapes.meta
    assert (meta["colour"][:, 0] != meta["colour"][:, 1]).all()
    assert (meta["shape"][:, 0] != meta["shape"][:, 1]).all()
    delta = np.abs(meta["centre"][:, 0] - meta["centre"][:, 1])  # (n, 2): |dx|, |dy|
    main, cross = delta.max(axis=1), delta.min(axis=1)
    half = object_half_size(32)
    assert (main >= 2 * half + 3).all() and (cross <= half // 2).all()
    horizontal = meta["layout"] == "horizontal"
    assert (delta[horizontal, 0] > delta[horizontal, 1]).all()
    assert 0.45 < horizontal.mean() < 0.55


@pytest.mark.parametrize("size", [16, 24, 64])
def test_other_image_sizes_keep_the_design(size):
    data = make_shapes(400, seed=size, image_size=size)
    np.testing.assert_array_equal(captions_true(data), data.labels.astype(bool))
    centres = data.meta["centre"]
    half = object_half_size(size)
    assert centres.min() >= half and centres.max() <= size - 1 - half  # shapes stay inside the image
    main = np.abs(centres[:, 0] - centres[:, 1]).max(axis=1)
    assert (main >= 2 * half + 3).all()  # and never touch


def test_pixels_show_the_objects_in_their_colours():
    data = make_shapes(50, seed=1, noise=0.0)
    for i in range(50):
        for k in range(2):
            x, y = data.meta["centre"][i, k]
            np.testing.assert_allclose(data.images[i, :, y, x], COLOURS[data.meta["colour"][i, k]], atol=1e-6)
        assert np.isclose(data.images[i, :, 0, 0], 0.08).all()  # background in a corner


# --- make_shapes: the design ----------------------------------------------------------


def test_labels_exactly_balanced_and_kinds_in_thirds():
    for n in (999, 1000, 1001):
        data = make_shapes(n, seed=n)
        assert abs(int(data.labels.sum()) - n / 2) <= 0.5
        kinds = Counter(data.meta["kind"][data.labels == 0].tolist())
        assert set(kinds) == set(MISMATCH_KINDS)
        assert max(kinds.values()) - min(kinds.values()) <= 1
        assert (data.meta["kind"][data.labels == 1] == "match").all()


def test_metadata_agrees_with_labels(shapes):
    """The hand-written perfect matcher (reads order, looks at the scene) gets every label right."""
    np.testing.assert_array_equal(captions_true(shapes), shapes.labels.astype(bool))


def test_mismatch_kinds_are_what_they_say(shapes):
    meta = shapes.meta
    for i in np.flatnonzero(shapes.labels == 0):
        sc, ss, rel, oc, os_ = parse_caption(shapes.captions[i])
        scene = set(zip(meta["colour"][i], meta["shape"][i]))
        mentioned = {(sc, ss), (oc, os_)}
        if meta["kind"][i] in ("swapped", "reversed"):
            assert mentioned == scene  # same objects: only order or relation is wrong
        else:
            absent = mentioned - scene
            assert len(absent) == 1
            (colour, shape) = absent.pop()
            changed_colour = colour not in meta["colour"][i]
            changed_shape = shape not in meta["shape"][i]
            assert (
                changed_colour != changed_shape
            )  # exactly one attribute, changed to one absent from the scene


def test_each_caption_string_is_as_often_true_as_false(big):
    """Per caption string, the share of matches is 1/2 up to sampling noise."""
    by_caption = defaultdict(list)
    for caption, label in zip(big.captions, big.labels):
        by_caption[caption].append(label)
    assert len(by_caption) == 288  # 12 colour-shape objects x 6 partners differing in both x 4 relations
    shares = np.array([np.mean(v) for v in by_caption.values()])
    counts = np.array([len(v) for v in by_caption.values()])
    z = (shares - 0.5) / np.sqrt(0.25 / counts)
    assert np.abs(z).max() < 4.5
    # chi-square per caption about 1 (its spread over k groups is sqrt(2/k)): no caption leaks its label
    assert np.mean(z**2) < 1 + 4 * np.sqrt(2 / len(z))


def test_each_scene_is_as_often_matched_as_not(big):
    """Grouped by (objects, layout), the scene says nothing about the label."""
    meta = big.meta
    keys = [
        (tuple(sorted(zip(c, s))), lay)
        for c, s, lay in zip(meta["colour"].tolist(), meta["shape"].tolist(), meta["layout"])
    ]
    groups = defaultdict(list)
    for key, label in zip(keys, big.labels):
        groups[key].append(label)
    shares = np.array([np.mean(v) for v in groups.values()])
    counts = np.array([len(v) for v in groups.values()])
    z = (shares - 0.5) / np.sqrt(0.25 / counts)
    assert len(z) == 72  # 36 object pairs x 2 layouts
    assert np.mean(z**2) < 1 + 4 * np.sqrt(2 / len(z))


def test_bag_of_words_ceiling_is_two_thirds(big):
    """The best order-blind model that sees the scene perfectly gets exactly the attribute mismatches right."""
    accuracy = (order_blind_oracle(big) == big.labels).mean()
    assert abs(accuracy - BAG_OF_WORDS_CEILING) < 0.001
    swapped = big.meta["kind"] != "attribute"
    assert (order_blind_oracle(big)[swapped] == 1).all()  # swapped and reversed look like matches


def test_swapped_caption_has_the_same_words(shapes):
    for i in np.flatnonzero(shapes.meta["kind"] == "swapped")[:50]:
        sc, ss, rel, oc, os_ = parse_caption(shapes.captions[i])
        twin = f"a {oc} {os_} is {rel} a {sc} {ss}"
        assert sorted(twin.split()) == sorted(shapes.captions[i].split())


def test_generation_is_fast():
    make_shapes(100)  # warm caches
    start = time.perf_counter()
    make_shapes(10000, seed=1)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, (
        f"10,000 scenes took {elapsed:.2f} s; the vectorised generator should need well under 1 s"
    )


# --- unimodal baselines sit at chance ---------------------------------------------------


def _logistic_accuracy(train_x, train_y, test_x, test_y):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=300, C=1.0)
    model.fit(train_x, train_y)
    return model.score(test_x, test_y), model.score(train_x, train_y)


def _pooled(images):
    """(n, 3, 16, 16) -> (n, 192): 2 x 2 average pooling, flattened."""
    return images.reshape(len(images), 3, 8, 2, 8, 2).mean(axis=(3, 5)).reshape(len(images), -1)


def test_unimodal_baselines_sit_at_chance():
    from mmcourse.text import bag_of_words

    train, test = make_shapes(4000, seed=21, image_size=16), make_shapes(2000, seed=22, image_size=16)
    pixels = _logistic_accuracy(_pooled(train.images), train.labels, _pooled(test.images), test.labels)
    vocab = Vocab.build(train.captions)
    bow = [bag_of_words(vocab.encode(d.captions)[0], len(vocab)) for d in (train, test)]
    words = _logistic_accuracy(bow[0], train.labels, bow[1], test.labels)
    # a lookup table over whole caption strings (reads word order) is at chance too
    table = defaultdict(list)
    for caption, label in zip(train.captions, train.labels):
        table[caption].append(label)
    guess = np.array([round(np.mean(table.get(c, [0.5])) + 1e-9) for c in test.captions])
    lookup = (guess == test.labels).mean()
    for name, accuracy in (("pixels", pixels[0]), ("bag of words", words[0]), ("caption lookup", lookup)):
        assert abs(accuracy - 0.5) < 0.045, f"{name}: test accuracy {accuracy:.3f} is not chance"
    # the same models are not simply broken: they read what each modality does carry
    has_red = [(d.meta["colour"] == "red").any(axis=1) for d in (train, test)]
    assert _logistic_accuracy(_pooled(train.images), has_red[0], _pooled(test.images), has_red[1])[0] > 0.9
    says_left = [np.array(["left" in c for c in d.captions]) for d in (train, test)]
    assert _logistic_accuracy(bow[0], says_left[0], bow[1], says_left[1])[0] > 0.99


def _lookup_accuracy(train_keys, train_y, test_keys, test_y):
    """Accuracy of the best classifier that sees only `keys`: the commonest training label per key."""
    table = defaultdict(Counter)
    for key, label in zip(train_keys, train_y):
        table[key][label] += 1
    guess = [table[key].most_common(1)[0][0] if key in table else 0 for key in test_keys]
    return float(np.mean(np.array(guess) == test_y))


def test_digit_arithmetic_needs_both_modalities():
    """Even a model that knows the digit perfectly (or reads the caption perfectly) is at chance (0.1)."""
    train, test = make_digit_arithmetic(3000, seed=1), make_digit_arithmetic(2000, split="test", seed=2)
    knows_digit = _lookup_accuracy(train.meta["digit"], train.labels, test.meta["digit"], test.labels)
    reads_caption = _lookup_accuracy(train.captions, train.labels, test.captions, test.labels)
    assert knows_digit < 0.15 and reads_caption < 0.15
    both = _lookup_accuracy(
        list(zip(train.meta["digit"], train.captions)),
        train.labels,
        list(zip(test.meta["digit"], test.captions)),
        test.labels,
    )
    assert both == 1.0
    # and the pictures are real and readable: pixels predict the DIGIT well
    flat = [d.images.reshape(len(d), -1) for d in (train, test)]
    from sklearn.linear_model import RidgeClassifier

    assert RidgeClassifier().fit(flat[0], train.meta["digit"]).score(flat[1], test.meta["digit"]) > 0.9


def test_digit_captions_are_redundant_but_noisy():
    data = make_digit_captions(4000, seed=3, caption_noise=0.3)
    test = make_digit_captions(2000, split="test", seed=4, caption_noise=0.3)
    reads_caption = _lookup_accuracy(data.captions, data.labels, test.captions, test.labels)
    assert 0.66 < reads_caption < 0.74  # the caption alone is right 70 % of the time


# --- digits -----------------------------------------------------------------------


def test_digit_arithmetic_labels_and_captions():
    data = make_digit_arithmetic(500, seed=4)
    assert data.images.shape == (500, 1, 8, 8) and data.images.dtype == np.float32
    assert 0 <= data.images.min() and data.images.max() <= 1
    sign = np.where(data.meta["op"] == "plus", 1, -1)
    np.testing.assert_array_equal(data.labels, (data.meta["digit"] + sign * data.meta["k"]) % 10)
    assert data.captions[0].split()[0] in ("plus", "minus")
    assert set(np.unique(data.meta["k"])) == set(range(10))


def test_digit_pools_never_share_an_image():
    train, val, test = digit_pool("train"), digit_pool("val"), digit_pool("test")
    assert not set(train) & set(test) and not set(train) & set(val) and not set(val) & set(test)
    assert len(train) + len(val) + len(test) == 1797
    assert 140 <= len(val) <= 160 and 290 <= len(test) <= 310  # a third and two thirds of the held-out 25 %
    labels = load_digits().target
    for pool in (train, val, test):  # stratified: every digit in every pool
        assert set(labels[pool]) == set(range(10))
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\], but got 'valid'"):
        digit_pool("valid")
    a, b = make_digit_arithmetic(2000, seed=1), make_digit_arithmetic(2000, split="test", seed=1)
    assert not set(a.meta["image_id"]) & set(b.meta["image_id"])
    c = make_digit_captions(2000, split="test", seed=9)
    assert set(c.meta["image_id"]) <= set(test)


def test_digit_captions_noise():
    clean = make_digit_captions(300, caption_noise=0.0)
    assert clean.meta["caption_correct"].all()
    noisy = make_digit_captions(300, caption_noise=1.0)
    assert not noisy.meta["caption_correct"].any()
    assert (noisy.meta["caption_digit"] != noisy.labels).all()


# --- splits -----------------------------------------------------------------------


def test_split_partitions_without_leakage(shapes):
    parts = split(shapes, (0.7, 0.15, 0.15), seed=1)
    assert parts.shifted is None
    assert sum(len(p) for p in parts[:3]) == len(shapes)
    assert abs(len(parts.train) - 2100) <= 1
    images = [p.images.reshape(len(p), -1) for p in parts[:3]]
    keys = [{row.tobytes() for row in x} for x in images]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    again = split(shapes, (0.7, 0.15, 0.15), seed=1)
    assert again.test.captions == parts.test.captions
    assert split(shapes, (0.7, 0.15, 0.15), seed=2).test.captions != parts.test.captions


def test_split_is_stratified(shapes):
    parts = split(shapes, (0.7, 0.1, 0.2), seed=4)
    for part in parts[:3]:
        assert abs(part.labels.mean() - 0.5) < 0.002


def test_split_keeps_images_together():
    data = make_digit_arithmetic(3000, seed=0)
    parts = split(data, seed=0)
    ids = [set(p.meta["image_id"]) for p in parts[:3]]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])


def test_shifted_split_by_position(shapes):
    parts = split(shapes, seed=0, shift="position")
    corner = 0.4 * 32

    def in_corner(d):
        return ((d.meta["centre"][..., 0] < corner) & (d.meta["centre"][..., 1] < corner)).any(axis=1)

    assert not any(in_corner(p).any() for p in parts[:3])
    assert in_corner(parts.shifted).all() and 0.1 < len(parts.shifted) / len(shapes) < 0.4
    assert sum(len(p) for p in parts) == len(shapes)


def test_shifted_split_by_colour_shape_pair(shapes):
    held = ("yellow", "triangle")
    parts = split(shapes, seed=0, shift=[held])

    def touches(data):
        scene = ((data.meta["colour"] == held[0]) & (data.meta["shape"] == held[1])).any(axis=1)
        caption = np.array([" ".join(held) in c for c in data.captions])
        return scene | caption

    assert not any(touches(p).any() for p in parts[:3])
    assert touches(parts.shifted).all()
    pool = np.concatenate([p.labels for p in parts[:3]])
    assert pool.mean() == 0.5  # re-balanced after setting the pair aside


# --- augmentation -----------------------------------------------------------------


def test_swap_left_right_whole_words():
    assert (
        swap_left_right("a red circle is left of a blue square") == "a red circle is right of a blue square"
    )
    assert swap_left_right("right left leftover") == "left right leftover"
    assert swap_left_right("a red circle is above a blue square") == "a red circle is above a blue square"


def test_hflip_keeps_every_caption_true(shapes):
    """Augmentation consistency: against the flipped metadata, every flipped caption has the original label."""
    flipped = hflip_data(shapes)
    np.testing.assert_array_equal(captions_true(flipped), shapes.labels.astype(bool))
    np.testing.assert_array_equal(flipped.images, shapes.images[..., ::-1])
    x = flipped.meta["centre"][0, 0, 0]
    assert x == 31 - shapes.meta["centre"][0, 0, 0]


def test_naive_flip_breaks_horizontal_matches(shapes):
    flipped = hflip_data(shapes)
    still_true = captions_true(flipped, shapes.captions)  # flipped scenes, ORIGINAL captions
    positives = shapes.labels == 1
    horizontal = shapes.meta["layout"] == "horizontal"
    assert not still_true[positives & horizontal].any()
    assert still_true[positives & ~horizontal].all()


def test_hflip_pair_numpy_and_torch(shapes):
    images, captions = shapes.images[:4], shapes.captions[:4]
    flipped, new = hflip_pair(images, captions)
    np.testing.assert_array_equal(flipped, images[..., ::-1])
    assert new == [swap_left_right(c) for c in captions]
    assert images is not flipped and np.array_equal(images, shapes.images[:4])  # input untouched
    tflipped, tnew = hflip_pair(torch.from_numpy(images), captions)
    assert isinstance(tflipped, torch.Tensor) and np.array_equal(tflipped.numpy(), flipped) and tnew == new
    twice, back = hflip_pair(*hflip_pair(images, captions))
    np.testing.assert_array_equal(twice, images)
    assert back == list(captions)


def test_hflip_pair_errors(shapes):
    with pytest.raises(ValueError, match="images and captions must pair up"):
        hflip_pair(shapes.images[:3], shapes.captions[:2])
    with pytest.raises(ValueError, match=r"images must be a 4-D array \(n, C, H, W\)"):
        hflip_pair(shapes.images[0], shapes.captions[:1])
    with pytest.raises(TypeError, match="captions must be a list"):
        hflip_pair(shapes.images[:1], shapes.captions[0])


# --- loaders ----------------------------------------------------------------------


def test_tensor_batches_cover_every_sample_once_per_epoch(shapes):
    vocab = Vocab.build(shapes.captions)
    batches = TensorBatches.from_data(shapes, vocab, batch_size=256, seed=0)
    assert len(batches) == 12
    first = [labels for _, _, _, labels in batches]
    images, tokens, lengths, labels = next(
        iter(TensorBatches.from_data(shapes, vocab, batch_size=256, seed=0))
    )
    assert images.shape == (256, 3, 32, 32) and tokens.dtype == torch.int64 and lengths.shape == (256,)
    assert sum(len(b) for b in first) == len(shapes)
    assert int(torch.cat(first).sum()) == int(shapes.labels.sum())
    second = torch.cat([labels for *_, labels in batches])
    assert not torch.equal(torch.cat(first), second)  # a new order each epoch
    again = TensorBatches.from_data(shapes, vocab, batch_size=256, seed=0)
    assert torch.equal(torch.cat([b[-1] for b in again]), torch.cat(first))  # but reproducible from the seed
    assert len(TensorBatches.from_data(shapes, vocab, batch_size=256, drop_last=True)) == 11


def test_tensor_batches_rows_stay_paired(shapes):
    vocab = Vocab.build(shapes.captions)
    images, tokens, lengths, labels = next(
        iter(TensorBatches.from_data(shapes, vocab, batch_size=64, seed=3))
    )
    decoded = vocab.decode(tokens.numpy(), lengths.numpy())
    index = {c: i for i, c in enumerate(shapes.captions)}
    for row, caption in enumerate(decoded[:10]):
        matches = [i for i, c in enumerate(shapes.captions) if c == caption]
        assert any(np.array_equal(shapes.images[i], images[row].numpy()) for i in matches)
        assert caption in index


def test_pair_dataset_with_dataloader(shapes):
    vocab = Vocab.build(shapes.captions)
    dataset = PairDataset(shapes, vocab)
    assert len(dataset) == len(shapes)
    image, tokens, length, label = dataset[5]
    assert image.shape == (3, 32, 32) and int(label) == shapes.labels[5]
    assert vocab.decode(tokens[None].numpy(), [int(length)]) == [shapes.captions[5]]
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=8)))
    assert batch[0].shape == (8, 3, 32, 32) and batch[1].shape[0] == 8


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"n": 0}, ValueError, "n must be a positive integer"),
        ({"n": -3}, ValueError, "n must be a positive integer"),
        ({"n": 2.5}, TypeError, "n must be a positive integer"),
        ({"n": 10, "image_size": 8}, ValueError, "image_size must be at least 16"),
        ({"n": 10, "noise": 1.5}, ValueError, r"noise must be a number in \[0, 1\]"),
        ({"n": 10, "noise": -0.1}, ValueError, "noise must be"),
        (
            {"n": 10, "colours": ("red", "green", "mauve")},
            ValueError,
            r"colours holds unknown name\(s\) \['mauve'\]",
        ),
        (
            {"n": 10, "shapes": ("circle", "square", "hexagon")},
            ValueError,
            "shapes holds unknown name.*valid names",
        ),
        ({"n": 10, "shapes": ("circle", "square")}, ValueError, "shapes must name at least 3"),
        ({"n": 10, "relations": ("left of", "behind")}, ValueError, "relations holds unknown name"),
        (
            {"n": 10, "relations": ("left of", "above", "below")},
            ValueError,
            "relations must come in opposite pairs",
        ),
        ({"n": 10, "colours": "red"}, TypeError, "colours must be a list of names"),
    ],
)
def test_make_shapes_bad_input(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        make_shapes(**kwargs)


def test_make_shapes_options():
    data = make_shapes(
        300,
        colours=("red", "purple", "cyan"),
        shapes=("circle", "diamond", "square", "triangle"),
        relations=("left of", "right of"),
    )
    assert set(data.meta["colour"].ravel()) == {"red", "purple", "cyan"}
    assert (data.meta["layout"] == "horizontal").all()
    np.testing.assert_array_equal(captions_true(data), data.labels.astype(bool))


def test_other_bad_input(shapes):
    with pytest.raises(ValueError, match=r"caption_noise must be a probability in \[0, 1\]"):
        make_digit_captions(10, caption_noise=1.2)
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\], but got 'validation'"):
        make_digit_arithmetic(10, split="validation")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make_digit_arithmetic(0)
    with pytest.raises(ValueError, match="fractions must be three non-negative numbers"):
        split(shapes, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="shift must be 'position' or a list"):
        split(shapes, shift="colour")
    with pytest.raises(ValueError, match="shift pairs must be"):
        split(shapes, shift=[("pink", "circle")])
    with pytest.raises(TypeError, match="data must be a MultimodalData"):
        split(shapes.images)
    with pytest.raises(ValueError, match="caption .* is not in the grammar"):
        parse_caption("a red circle near a blue square")
    with pytest.raises(ValueError, match="TensorBatches needs at least one tensor"):
        TensorBatches()


def test_multimodal_data_subset_and_checks(shapes):
    part = shapes.subset(np.arange(10))
    assert len(part) == 10 and part.captions == shapes.captions[:10]
    mask = shapes.labels == 1
    assert len(shapes.subset(mask)) == mask.sum()
    assert shapes.sample(3)["caption"] == shapes.captions[3]
    with pytest.raises(ValueError, match="one entry per sample"):
        MultimodalData(shapes.images[:3], shapes.captions[:2], shapes.labels[:3], ("a", "b"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tensor_batches_stay_on_the_gpu(shapes):
    vocab = Vocab.build(shapes.captions)
    batches = TensorBatches.from_data(shapes, vocab, device="cuda", batch_size=500, seed=0)
    for batch in batches:
        assert all(t.device.type == "cuda" for t in batch)
    gpu = TensorBatches.from_data(shapes, vocab, device="cuda", batch_size=500, seed=0)
    cpu = TensorBatches.from_data(shapes, vocab, device="cpu", batch_size=500, seed=0)
    for on_gpu, on_cpu in zip(gpu, cpu):  # the same order on either device
        assert all(torch.equal(a.cpu(), b) for a, b in zip(on_gpu, on_cpu))


def test_mismatch_kinds_split_attribute_changes_into_colour_and_shape():
    from mmcourse.data import mismatch_kinds, parse_caption

    data = make_shapes(1200, seed=6)
    kinds = mismatch_kinds(data)
    assert set(kinds) == {"match", "swapped", "reversed", "attribute: colour", "attribute: shape"}
    assert ((kinds == "attribute: colour") | (kinds == "attribute: shape")).sum() == (
        data.meta["kind"] == "attribute"
    ).sum()
    assert abs((kinds == "attribute: shape").mean() - 1 / 12) < 0.03
    for i in np.flatnonzero(kinds == "attribute: shape"):
        sc, ss, _, oc, os_ = parse_caption(data.captions[i])
        assert {sc, oc} == set(data.meta["colour"][i]) and not {ss, os_} <= set(data.meta["shape"][i])
    for i in np.flatnonzero(kinds == "attribute: colour"):
        sc, ss, _, oc, os_ = parse_caption(data.captions[i])
        assert not {sc, oc} <= set(data.meta["colour"][i]) and {ss, os_} == set(data.meta["shape"][i])
    assert (data.meta["kind"] == "attribute").any()  # the input's own metadata is left as it was


# --- concat_data ---------------------------------------------------------------------------------------------------


def test_concat_data_keeps_every_sample_in_order():
    from mmcourse.data import concat_data
    from mmcourse.data.roles import make_role_captions

    a, b = make_role_captions(5, seed=0), make_role_captions(3, seed=1)
    both = concat_data(a, b)
    assert len(both) == 8 and both.captions == a.captions + b.captions
    np.testing.assert_array_equal(both.images[5:], b.images)
    np.testing.assert_array_equal(both.labels, np.concatenate([a.labels, b.labels]))
    assert all(len(column) == 8 for column in both.meta.values()) and both.label_names == a.label_names
    assert both.meta["plain"][6] == b.meta["plain"][1]


def test_concat_data_rejects_parts_that_do_not_fit():
    from mmcourse.data import concat_data
    from mmcourse.data.roles import make_role_captions

    roles = make_role_captions(4, seed=0)
    with pytest.raises(ValueError, match="at least one"):
        concat_data()
    with pytest.raises(TypeError, match=r"parts\[1\] must be a MultimodalData"):
        concat_data(roles, [1, 2])
    with pytest.raises(ValueError, match=r"parts\[1\] has label_names"):
        concat_data(roles, make_shapes(4, seed=0))
    with pytest.raises(ValueError, match="image shape"):
        concat_data(roles, make_role_captions(4, seed=0, image_size=24))
