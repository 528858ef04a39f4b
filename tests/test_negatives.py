"""mmcourse.data.negatives: a changed attribute word turns a true caption false, and batches stay balanced."""

import numpy as np
import pytest
import torch

from mmcourse.data import (
    AttributeNegatives,
    attribute_word_groups,
    caption_is_true,
    change_one_attribute,
    make_shapes,
    to_tensors,
)
from mmcourse.text import Vocab


@pytest.fixture(scope="module")
def shapes():
    data = make_shapes(600, seed=4)
    vocab = Vocab.build(data.captions)
    return data, vocab, to_tensors(data, vocab)


def test_every_changed_true_caption_is_false_and_differs_in_one_attribute_word(shapes):
    data, vocab, (_, tokens, lengths, labels) = shapes
    groups = attribute_word_groups(vocab)
    true_rows = np.flatnonzero(data.labels == 1)
    changed = change_one_attribute(
        tokens[true_rows], lengths[true_rows], groups, torch.Generator().manual_seed(0)
    )
    for row, new_tokens, caption in zip(true_rows, changed, vocab.decode(changed, lengths[true_rows])):
        meta = data.meta["colour"][row], data.meta["shape"][row], data.meta["centre"][row]
        assert caption_is_true(data.captions[row], *meta)
        assert not caption_is_true(caption, *meta), (data.captions[row], caption)
        differ = torch.nonzero(new_tokens != tokens[row]).flatten()
        assert len(differ) == 1  # exactly one word changed ...
        old, new = int(tokens[row, differ[0]]), int(new_tokens[differ[0]])
        assert any(old in group and new in group for group in groups)  # ... into a word of its own group


def test_every_position_and_every_replacement_is_drawn(shapes):
    """Subject and object, colour and shape, are all changed; each into every other word of its group."""
    _, vocab, (_, tokens, lengths, _) = shapes
    groups = attribute_word_groups(vocab)
    caption = torch.as_tensor(vocab.encode(["a red circle is left of a blue square"])[0]).repeat(2000, 1)
    changed = change_one_attribute(caption, torch.full((2000,), 9), groups, torch.Generator().manual_seed(1))
    positions = (changed != caption).nonzero()[:, 1]
    assert set(positions.tolist()) == {1, 2, 7, 8}  # a RED CIRCLE is left of a BLUE SQUARE
    counts = np.bincount(positions.numpy(), minlength=9)[[1, 2, 7, 8]]
    assert counts.min() > 2000 / 4 * 0.85  # uniform over the four attribute words
    new_colours = set(changed[positions == 1, 1].tolist())
    assert new_colours == set(groups[0]) - {vocab.stoi["red"]}  # every other colour, never "red" itself


def test_transform_keeps_the_batch_balanced_and_leaves_mismatches_alone(shapes):
    _, vocab, batch = shapes
    images, tokens, lengths, labels = batch
    out_images, out_tokens, out_lengths, out_labels = AttributeNegatives(vocab, rate=0.5, seed=0)(batch)
    n, k = len(labels), (len(out_labels) - len(labels)) // 2
    assert 0.35 * 300 < k < 0.65 * 300  # about half of the 300 matching pairs drawn
    assert torch.equal(out_tokens[:n], tokens) and torch.equal(
        out_labels[:n], labels
    )  # the batch itself untouched
    assert (out_labels[n : n + k] == 0).all() and (out_labels[n + k :] == 1).all()
    assert out_labels.float().mean() == labels.float().mean() == 0.5
    assert torch.equal(
        out_images[n : n + k], out_images[n + k :]
    )  # the same scenes, changed and unchanged caption
    assert torch.equal(out_lengths[n : n + k], out_lengths[n + k :])
    assert (out_tokens[n : n + k] != out_tokens[n + k :]).sum(dim=1).eq(1).all()
    sources = [
        int(torch.nonzero((images == image).flatten(1).all(dim=1))[0]) for image in out_images[n + k :]
    ]
    assert all(labels[s] == 1 for s in sources)  # only matching pairs are used


def test_shared_images_give_the_same_pairs_with_each_image_once(shapes):
    _, vocab, batch = shapes
    plain = AttributeNegatives(vocab, rate=0.5, seed=2)(batch)
    images, tokens, lengths, image_index, labels = AttributeNegatives(vocab, rate=0.5, seed=2, share_images=True)(batch)
    assert images is batch[0]  # no image copied
    assert torch.equal(images[image_index], plain[0])  # ... yet every pair shows the image it showed before
    for got, expected in zip((tokens, lengths, labels), plain[1:]):
        assert torch.equal(got, expected)
    assert len(image_index) > len(images)  # some images are shared by several pairs
    _, _, _, index, _ = AttributeNegatives(vocab, rate=0, share_images=True)(batch)
    assert torch.equal(index, torch.arange(len(batch[0])))  # rate 0: one pair per image, same five-tuple


def test_a_fusion_classifier_scores_shared_images_like_repeated_ones(shapes):
    from mmcourse.assets import load_asset

    model, vocab, _ = load_asset("shapes-matcher")  # trained: its scores depend on the image it is handed
    data = shapes[0]
    small = to_tensors(data.subset(np.arange(40)), vocab)
    images, tokens, lengths, image_index, _ = AttributeNegatives(vocab, rate=1.0, seed=0, share_images=True)(small)
    repeated = AttributeNegatives(vocab, rate=1.0, seed=0)(small)
    with torch.no_grad():
        shared = model(images, tokens, lengths, image_index)
        expected = model(*repeated[:3])
        wrong = model(images, tokens, lengths, image_index.flip(0))  # pairs handed the wrong images
    assert shared.shape == (len(tokens), 2)
    torch.testing.assert_close(shared, expected, atol=1e-4, rtol=1e-4)
    assert (wrong - expected).abs().max() > 1.0  # the index is used, not ignored


def test_rate_zero_and_seeds():
    data = make_shapes(64, seed=1)
    vocab = Vocab.build(data.captions)
    batch = to_tensors(data, vocab)
    assert AttributeNegatives(vocab, rate=0)(batch) is batch
    first = AttributeNegatives(vocab, rate=1.0, seed=3)(batch)
    again = AttributeNegatives(vocab, rate=1.0, seed=3)(batch)
    other = AttributeNegatives(vocab, rate=1.0, seed=4)(batch)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[1], other[1])
    assert len(first[3]) == 64 + 2 * 32  # rate 1: every matching pair


def test_bad_arguments_give_clear_errors(shapes):
    _, vocab, (images, tokens, lengths, labels) = shapes
    with pytest.raises(ValueError, match="rate must be a probability"):
        AttributeNegatives(vocab, rate=1.5)
    with pytest.raises(TypeError, match="vocab must be a mmcourse.text.Vocab"):
        AttributeNegatives(["red", "blue"])
    with pytest.raises(ValueError, match="needs at least 2"):
        attribute_word_groups(vocab, [["red", "purple"]])  # "purple" is not among the default colours
    with pytest.raises(ValueError, match="one group only"):
        attribute_word_groups(vocab, [["red", "blue"], ["blue", "green"]])
    with pytest.raises(TypeError, match="lists of words"):
        attribute_word_groups(vocab, "red blue")
    with pytest.raises(TypeError, match="share_images must be True or False, but got 'yes'"):
        AttributeNegatives(vocab, share_images="yes")
    with pytest.raises(ValueError, match="expects a batch"):
        AttributeNegatives(vocab)((images, tokens))
    with pytest.raises(ValueError, match="lengths must have shape"):
        change_one_attribute(tokens, lengths[:3], attribute_word_groups(vocab))
    only_fillers = torch.as_tensor(vocab.encode(["a is a is"])[0])
    with pytest.raises(ValueError, match="caption 0 .* nothing to change"):
        change_one_attribute(only_fillers, torch.tensor([4]), attribute_word_groups(vocab))
