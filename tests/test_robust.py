"""mmcourse.robust: missing modalities, corruptions at levels 0..1, the area under a curve, modality dropout."""

import numpy as np
import pytest
import torch

from mmcourse import robust
from mmcourse.models import build_model
from mmcourse.train import fit

torch.set_num_threads(1)


def _batch(B=50, T=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = 0.1 + 0.9 * torch.rand(B, 3, 16, 16, generator=g)
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    tokens = torch.randint(2, 20, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return images, tokens, lengths


def test_missing_modalities():
    images, tokens, lengths = _batch()
    assert torch.equal(robust.blank_image(images), torch.zeros_like(images))
    empty_tokens, empty_lengths = robust.empty_caption(tokens, lengths)
    assert (empty_tokens == 0).all() and (empty_lengths == 1).all() and empty_tokens.shape == tokens.shape
    unk_tokens, unk_lengths = robust.unk_caption(tokens, lengths)
    assert torch.equal(unk_lengths, lengths)
    assert torch.equal(unk_tokens == 1, tokens != 0)  # every real word is <unk>, padding stays padding


@pytest.mark.parametrize("name", ["gaussian noise", "occlusion", "word dropout", "word swap"])
def test_level_zero_is_clean_and_inputs_are_never_changed(name):
    modality, corrupt = robust.CORRUPTIONS[name]
    batch = _batch()
    saved = tuple(t.clone() for t in batch)
    images, tokens, lengths = batch
    clean = corrupt(images, 0.0) if modality == "image" else corrupt(tokens, lengths, 0.0)
    clean = (clean,) if modality == "image" else clean
    expected = (images,) if modality == "image" else (tokens, lengths)
    assert all(torch.equal(a, b) for a, b in zip(clean, expected))
    damaged = corrupt(images, 0.7, seed=1) if modality == "image" else corrupt(tokens, lengths, 0.7, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(batch, saved))
    again = corrupt(images, 0.7, seed=1) if modality == "image" else corrupt(tokens, lengths, 0.7, seed=1)
    damaged, again = (
        (damaged,) if modality == "image" else damaged,
        (again,) if modality == "image" else again,
    )
    assert all(torch.equal(a, b) for a, b in zip(damaged, again))  # the same seed, the same damage


def test_noise_grows_with_the_level_and_stays_in_range():
    images, _, _ = _batch()
    changes = [
        float((robust.gaussian_noise(images, level) - images).abs().mean()) for level in (0.1, 0.3, 0.9)
    ]
    assert changes[0] < changes[1] < changes[2]
    noisy = robust.gaussian_noise(images, 1.0)
    assert noisy.min() >= 0 and noisy.max() <= 1


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5, 1.0])
def test_occlusion_covers_the_fraction_asked_for(level):
    images, _, _ = _batch()
    covered = (robust.occlusion(images, level) == 0).all(dim=1).float().mean(dim=(1, 2))  # (B,)
    side = round(level**0.5 * 16)
    assert torch.allclose(covered, torch.full_like(covered, side**2 / 256))


def test_word_dropout_rate_and_word_swap_keeps_the_words():
    images, tokens, lengths = _batch(B=2000, T=8)
    real = tokens != 0
    dropped, same_lengths = robust.word_dropout(tokens, lengths, 0.3)
    assert torch.equal(same_lengths, lengths)
    rate = float(((dropped == 1) & real).sum() / real.sum())
    assert 0.27 < rate < 0.33
    swapped, _ = robust.word_swap(tokens, lengths, 1.0)
    assert torch.equal(swapped.sort(dim=1).values, tokens.sort(dim=1).values)  # same words per caption
    assert (swapped != tokens).any(dim=1).float().mean() > 0.8  # ... in another order
    assert torch.equal(robust.word_swap(tokens, lengths, 0.0)[0], tokens)


def test_bad_levels_and_shapes_are_named():
    images, tokens, lengths = _batch()
    with pytest.raises(ValueError, match="level must lie in"):
        robust.gaussian_noise(images, 1.5)
    with pytest.raises(TypeError, match="level must be a number"):
        robust.word_dropout(tokens, lengths, "high")
    with pytest.raises(ValueError, match="images must be a float tensor of shape"):
        robust.occlusion(images[0], 0.5)
    with pytest.raises(ValueError, match="lengths must be a tensor of shape"):
        robust.word_swap(tokens, lengths[:3], 0.5)
    with pytest.raises(ValueError, match="unknown corruption"):
        robust.robustness_curve(None, images, tokens, lengths, lengths, "blur", [0, 1])


def test_area_under_curve_uses_the_actual_levels():
    levels, accuracies = [0, 0.1, 0.2, 0.5, 1.0], [1.0, 0.9, 0.8, 0.5, 0.2]
    expected = (0.1 * 0.95 + 0.1 * 0.85 + 0.3 * 0.65 + 0.5 * 0.35) / 1.0
    assert robust.area_under_curve(levels, accuracies) == pytest.approx(expected)
    assert robust.area_under_curve(levels, accuracies) != pytest.approx(np.mean(accuracies))
    assert robust.area_under_curve([0.2, 0.6], [0.8, 0.8]) == pytest.approx(0.8)  # a mean over the range
    assert robust.relative_robustness(levels, accuracies) == pytest.approx(expected / 1.0)
    assert robust.relative_robustness([0, 1], [0.5, 0.25]) == pytest.approx(0.75)


@pytest.mark.parametrize(
    "levels, accuracies, message",
    [
        ([0, 0.5, 0.3], [1, 0.5, 0.2], "strictly increasing"),
        ([0, 1], [1, 0.5, 0.2], "one entry per level"),
        ([0.5], [1], "at least 2 points"),
        ([0, np.nan], [1, 0.5], "finite"),
    ],
)
def test_area_under_curve_rejects_bad_curves(levels, accuracies, message):
    with pytest.raises(ValueError, match=message):
        robust.area_under_curve(levels, accuracies)


def test_modality_dropout_blanks_one_modality_per_hit_pair_and_only_in_training():
    images, tokens, lengths = _batch(B=4000)
    new_images, new_tokens, new_lengths = robust.modality_dropout(
        images, tokens, lengths, 0.5, generator=torch.Generator().manual_seed(0)
    )
    image_gone = (new_images == 0).flatten(1).all(dim=1)
    text_gone = (new_tokens == 0).all(dim=1) & (new_lengths == 1)
    assert not (image_gone & text_gone).any()
    assert 0.47 < float((image_gone | text_gone).float().mean()) < 0.53
    assert abs(float(image_gone.float().mean()) - float(text_gone.float().mean())) < 0.04
    untouched = ~(image_gone | text_gone)
    assert torch.equal(new_images[untouched], images[untouched]) and torch.equal(
        new_tokens[untouched], tokens[untouched]
    )
    same = robust.modality_dropout(images, tokens, lengths, 0.5, training=False)
    assert all(a is b for a, b in zip(same, (images, tokens, lengths)))
    with pytest.raises(ValueError, match="p must be a probability"):
        robust.modality_dropout(images, tokens, lengths, 1.5)


def test_modality_dropout_transform_passes_the_labels_through():
    images, tokens, lengths = _batch()
    labels = torch.arange(len(lengths))
    out = robust.ModalityDropout(1.0, seed=0)((images, tokens, lengths, labels))
    assert len(out) == 4 and out[3] is labels
    with pytest.raises(ValueError, match="expects a batch"):
        robust.ModalityDropout(0.5)((images,))


def test_accuracy_curves_on_a_model_that_reads_only_the_caption():
    """A model that answers from the first word: image damage changes nothing, caption damage does."""
    images, tokens, lengths = _batch(B=300, seed=2)
    labels = (tokens[:, 0] % 2).long()
    model = build_model("text-only", vocab_size=20, n_classes=2, in_channels=3, hidden_dim=32)
    torch.manual_seed(0)
    batches = [(images, tokens, lengths, labels)]
    fit(model, batches, None, epochs=150, lr=1e-2, device="cpu", progress=False)
    levels = [0, 0.5, 1.0]
    image_curve = robust.robustness_curve(model, images, tokens, lengths, labels, "gaussian noise", levels)
    text_curve = robust.robustness_curve(model, images, tokens, lengths, labels, "word dropout", levels)
    assert image_curve[0] > 0.95 and np.allclose(image_curve, image_curve[0])
    assert text_curve[0] > 0.95 and text_curve[-1] < 0.7
    report = robust.missing_modality_accuracy(model, images, tokens, lengths, labels)
    assert report["image blank"] == report["both"] and report["caption empty"] < 0.7


def test_modality_dropout_gives_shared_images_one_per_pair_before_dropping():
    from mmcourse.data import AttributeNegatives, make_shapes, to_tensors
    from mmcourse.text import Vocab

    data = make_shapes(64, seed=3)
    vocab = Vocab.build(data.captions)
    batch = to_tensors(data, vocab)
    shared = AttributeNegatives(vocab, rate=1.0, seed=0, share_images=True)(batch)
    images, tokens, lengths, labels = robust.ModalityDropout(1.0, seed=0)(shared)
    assert len(images) == len(tokens) == len(labels) == len(shared[3]) > len(shared[0])  # one image per pair
    image_gone = (images == 0).flatten(1).all(dim=1)
    kept = ~image_gone
    assert kept.any() and image_gone.any()
    # the pairs that kept their image show the scene image_index says, not a neighbour's
    assert torch.equal(images[kept], shared[0][shared[3][kept]])
    assert torch.equal(labels, shared[4])


def test_modality_dropout_enters_fit_as_a_training_transform_only():
    """fit applies the transform to every training batch and to no validation batch."""
    images, tokens, lengths = _batch(B=40)
    labels = torch.arange(40) % 2
    train_batches = [
        (images[:20], tokens[:20], lengths[:20], labels[:20]),
        (images[20:], tokens[20:], lengths[20:], labels[20:]),
    ]
    val_batches = [(images, tokens, lengths, labels)]
    dropout, seen = robust.ModalityDropout(1.0, seed=0), []

    def transform(batch):
        out = dropout(batch)
        image_gone = (out[0] == 0).flatten(1).all(dim=1)
        text_gone = out[2] == 1
        seen.append((len(batch[0]), bool((image_gone ^ text_gone).all())))
        return out

    model = build_model("early", vocab_size=20, n_classes=2, in_channels=3, hidden_dim=16)
    fit(
        model,
        train_batches,
        val_batches,
        epochs=2,
        lr=1e-3,
        device="cpu",
        progress=False,
        train_transform=transform,
    )
    assert seen == [(20, True)] * 4  # 2 epochs x 2 training batches, each pair missing exactly one modality
