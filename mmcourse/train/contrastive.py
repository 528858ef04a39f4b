"""Contrastive training (lesson 11): every other caption of the batch is a negative, and what to do about the false ones.

    tensors = contrastive_tensors(train, vocab)              # images, captions, meanings, twins
    batches = TensorBatches(*tensors, batch_size=32, seed=0)
    history = fit_contrastive(model, batches, val=contrastive_tensors(val, vocab), epochs=8, lr=3e-3)
    retrieval_metrics(model, contrastive_tensors(test, vocab))   # R@1/5/10 both ways, word-order twins

One step: embed the B images and the B captions of a batch separately, score all B x B
pairs, and ask each image to pick its own caption out of the B (and each caption its own
image) -- `mmcourse.models.info_nce`. Two options change what counts as a negative:

- mask_false_negatives: a caption that states the same fact as the image's own (the same
  meaning id) is true of that image too; it is left out of the denominators instead of
  being pushed away.
- hard_negatives: the share of images that also get one of their caption's word-order
  twins (swapped or reversed, at random) as an extra, false candidate -- NegCLIP
  (Yuksekgonul et al., ICLR 2023).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.pairs import caption_meanings, order_twins
from ..env import pick_device
from ..metrics import recall_at_k
from ..models.contrastive import embed_images, embed_texts, info_nce
from ..validation import expect_number
from .history import History
from .steps import autocast_dtype, make_optimizer, make_schedule, to_device

__all__ = [
    "calibrate_match_head",
    "contrastive_tensors",
    "contrastive_step",
    "fit_contrastive",
    "retrieval_metrics",
]


def contrastive_tensors(data, vocab, device=None) -> tuple:
    """The tensors of true pairs for contrastive training, all with the same first axis n.

    Returns (images (n, C, H, W) float32, tokens (n, T), lengths (n,), meaning (n,) -- equal
    ids for captions that state the same fact --, swapped_tokens, swapped_lengths,
    reversed_tokens, reversed_lengths: each caption's two word-order twins), on `device`.
    data: a MultimodalData of true pairs (mmcourse.data.scene_captions).
    """
    from ..data import MultimodalData

    if not isinstance(data, MultimodalData):
        raise TypeError(
            f"data must be a MultimodalData of true pairs (scene_captions), but got {type(data).__name__}."
        )
    if not np.all(data.labels == 1):
        raise ValueError(
            "data must hold true pairs only (every label 1): contrastive training takes each scene's own caption as "
            f"its positive, but {int((data.labels != 1).sum())} pairs are mismatches. Use mmcourse.data.scene_captions."
        )
    swapped, reversed_ = order_twins(data.captions)
    longest = max(len(vocab.token_ids(c)) for c in data.captions)
    encoded = [vocab.encode(captions, max_len=longest) for captions in (data.captions, swapped, reversed_)]
    arrays = (data.images, *encoded[0], caption_meanings(data.captions), *encoded[1], *encoded[2])
    device = torch.device("cpu") if device is None else torch.device(device)
    return tuple(torch.as_tensor(np.ascontiguousarray(a)).to(device) for a in arrays)


def _hard_negative_captions(batch, share: float, generator: torch.Generator):
    """(tokens, lengths) of one twin each for a random `share` of the batch's captions, or None."""
    _, tokens, _, _, swapped, swapped_lengths, reversed_, reversed_lengths = batch
    B = tokens.shape[0]
    chosen = (torch.rand(B, generator=generator) < share).to(tokens.device)
    if not bool(chosen.any()):
        return None
    use_swapped = (torch.rand(B, generator=generator) < 0.5).to(tokens.device)
    twin = torch.where(use_swapped[:, None], swapped, reversed_)
    twin_lengths = torch.where(use_swapped, swapped_lengths, reversed_lengths)
    return twin[chosen], twin_lengths[chosen]


def contrastive_step(model, optimizer, batch, *, mask_false_negatives=True, hard_negatives=0.0, generator=None,
                     amp_dtype=None, clip_grad=None):  # fmt: skip
    """ONE optimisation step of InfoNCE on one batch of true pairs; returns (loss, in-batch accuracy), detached.

    batch: a slice of contrastive_tensors. The in-batch accuracy is the share of images
    whose best-scored caption of the batch is a positive (image -> text top-1).
    """
    images, tokens, lengths, meaning = batch[:4]
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(images.device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        z_image = embed_images(model, images).float()  # (B, D)
        z_text = embed_texts(model, tokens, lengths).float()  # (B, D)
        hard = _hard_negative_captions(batch, hard_negatives, generator) if hard_negatives else None
        z_hard = None if hard is None else embed_texts(model, *hard).float()
    same_fact = meaning[:, None] == meaning[None, :]  # (B, B), True on the diagonal
    loss = info_nce(
        z_image, z_text, model.fusion.temperature, same_fact if mask_false_negatives else None, z_hard
    )
    loss.backward()
    if clip_grad is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    optimizer.step()
    with torch.no_grad():
        best = (z_image @ z_text.T).argmax(dim=1)
        accuracy = same_fact[torch.arange(len(best), device=best.device), best].float().mean()
    return loss.detach(), accuracy


@torch.no_grad()
def retrieval_metrics(model, tensors, ks=(1, 5, 10)) -> dict:
    """How well a dual encoder retrieves, on held-out true pairs (a contrastive_tensors tuple).

    Returns floats: image_to_text_r{k} and text_to_image_r{k} for k in ks (a caption of the
    same fact counts as a right answer), swapped_accuracy and reversed_accuracy (the share of
    images whose own caption scores above its word-order twin: 0.5 is chance) and
    temperature. The model is put back in the mode it was in.
    """
    was_training = model.training
    model.eval()
    images, tokens, lengths, meaning, swapped, swapped_lengths, reversed_, reversed_lengths = tensors
    z_image, z_text = embed_images(model, images), embed_texts(model, tokens, lengths)
    similarity = (z_image @ z_text.T).cpu()
    positive = (meaning[:, None] == meaning[None, :]).cpu()
    result = {}
    for k in ks:
        if k <= len(meaning):
            result[f"image_to_text_r{k}"] = recall_at_k(similarity, k, positive)
            result[f"text_to_image_r{k}"] = recall_at_k(similarity.T, k, positive.T)
    own = (z_image * z_text).sum(dim=1)
    for name, twin, twin_lengths in (
        ("swapped", swapped, swapped_lengths),
        ("reversed", reversed_, reversed_lengths),
    ):
        result[f"{name}_accuracy"] = float(
            (own > (z_image * embed_texts(model, twin, twin_lengths)).sum(dim=1)).float().mean()
        )
    result["temperature"] = float(model.fusion.temperature)
    model.train(was_training)
    return result


def calibrate_match_head(model, tensors, steps: int = 100) -> float:
    """Fit the dual encoder's match / mismatch head on held-out pairs; returns its accuracy on them.

    Contrastive training never uses the head (Linear(1, 2) on the pair score
    logit_scale * cos). To let the model also answer lesson 08's question, "does this
    caption describe this scene?", this fits the head by logistic regression -- match
    logit minus mismatch logit = a * score + b -- on `tensors` (a contrastive_tensors
    tuple, e.g. the validation pairs): each scene with its own caption (match), with its
    swapped and its reversed twin, and with the caption of another fact (mismatches),
    the two classes weighted equally.
    """
    images, tokens, lengths, meaning, swapped, swapped_lengths, reversed_, reversed_lengths = tensors
    was_training = model.training
    model.eval()
    with torch.no_grad():
        z_image = embed_images(model, images)
        other = torch.roll(torch.arange(len(meaning), device=meaning.device), 1)
        keep = meaning[other] != meaning  # another scene's caption, of another fact
        scores = [(z_image * embed_texts(model, t, n)).sum(dim=1) for t, n in
                  ((tokens, lengths), (swapped, swapped_lengths), (reversed_, reversed_lengths))]  # fmt: skip
        scores.append((z_image * embed_texts(model, tokens[other], lengths[other])).sum(dim=1)[keep])
        x = torch.cat(scores).float().cpu() * float(model.fusion.logit_scale)
        y = torch.cat([torch.ones(len(scores[0])), torch.zeros(len(x) - len(scores[0]))])
    weight = torch.where(y == 1, 0.5 / y.sum(), 0.5 / (1 - y).sum())  # each class half the loss
    a, b = torch.ones((), requires_grad=True), torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([a, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (weight * F.binary_cross_entropy_with_logits(a * x + b, y, reduction="none")).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    head = model.classifier
    with torch.no_grad():  # softmax over (mismatch, match) = sigmoid(a * score + b)
        head.weight.copy_(torch.tensor([[-0.5], [0.5]]) * a.detach())
        head.bias.copy_(torch.tensor([-0.5, 0.5]) * b.detach())
        balanced = ((((a * x + b) > 0).float() == y).float() * weight).sum().item()
    model.train(was_training)
    return balanced


def fit_contrastive(model, train_batches, val=None, *, epochs: int, lr: float, device="auto", seed: int = 0,
                    mask_false_negatives: bool = True, hard_negatives: float = 0.0, optimizer: str = "adam",
                    weight_decay: float = 0.0, schedule=None, warmup: float = 0.1, clip_grad=None, amp="auto",
                    restore_best: bool = False, progress: bool = False, channels_last: bool = True) -> History:  # fmt: skip
    """Train a dual encoder with InfoNCE; returns the History of every epoch.

    train_batches: batches of contrastive_tensors (a TensorBatches over them); val: a
    contrastive_tensors tuple or None -- each epoch's val_accuracy is its image -> text R@1.
    train_accuracy is the in-batch top-1 accuracy, train_loss the mean InfoNCE loss.
    hard_negatives: the share of images given a word-order twin as an extra negative
    (NegCLIP; 0 = ordinary in-batch negatives). channels_last: the image encoder's weights and
    images in NHWC (on 2 CPU cores about 1.2x faster; the same run up to rounding). The other
    options are fit's.
    """
    hard_negatives = expect_number("hard_negatives", hard_negatives, "float", 0, 1, rule="a share in [0, 1]")
    torch.manual_seed(seed)
    device = device if isinstance(device, torch.device) else pick_device(device)
    if not isinstance(channels_last, bool):
        raise TypeError(f"channels_last must be True or False, but got {channels_last!r}.")
    model.to(device, memory_format=torch.channels_last) if channels_last else model.to(device)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    scheduler = make_schedule(schedule, opt, epochs * len(train_batches), warmup)
    dtype, generator = autocast_dtype(amp, device), torch.Generator().manual_seed(seed)
    history, best = History(), None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"contrastive training on {device.type}", unit="epoch")
    for epoch in range(epochs):
        began = time.perf_counter()
        model.train()
        losses, accuracies = [], []
        for batch in train_batches:
            batch = to_device(batch, device, channels_last)
            loss, accuracy = contrastive_step(model, opt, batch, mask_false_negatives=mask_false_negatives,
                                              hard_negatives=hard_negatives, generator=generator, amp_dtype=dtype,
                                              clip_grad=clip_grad)  # fmt: skip
            if scheduler is not None:
                scheduler.step()
            losses.append(loss)
            accuracies.append(accuracy)
        history["train_loss"].append(float(torch.stack(losses).mean()))
        history["train_accuracy"].append(float(torch.stack(accuracies).mean()))
        history["lr"].append(opt.param_groups[0]["lr"])
        if val is not None:
            recall = retrieval_metrics(model, to_device(val, device), ks=(1,))["image_to_text_r1"]
            history["val_accuracy"].append(recall)
            if best is None or recall > best[0]:
                best = (recall, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
                history.best_epoch = epoch
        history.seconds.append(time.perf_counter() - began)
        if bar is not None:
            bar.set_postfix({"loss": f"{history['train_loss'][-1]:.3f}"})
            bar.update(1)
    if bar is not None:
        bar.close()
    if restore_best and best is not None:
        model.load_state_dict(best[1])
    return history
