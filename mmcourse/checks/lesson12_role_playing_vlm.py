"""Checks for lesson 12 (a model that speaks in a role).

- `prefix_lm_loss` (torch): the teacher-forcing shift and the loss mask of a prefix LM, from the
  decoder's outputs at EVERY position, (B, P + T, V), prefix included. The referee is
  `mmcourse.models.captioner.teacher_forcing` (the cases' ids are built with it) and
  `mmcourse.vlm.caption_loss`. Captions of 16, 9 and 8 words (the longest without padding), P = 5
  and P = 2, so that each slip gives its own value: targets not shifted, the slice one position
  late or early, <bos> predicted from the role token, the outputs of the image tokens used, padding
  in the loss, the mask taken from the inputs, the zeroed padding still counted in the mean, <eos>
  left out, a mean per caption, a sum. The gradient is compared too.
- `greedy_decode` (torch): the referee is `mmcourse.models.captioner.greedy_decode`, run on a
  scripted stand-in for RoleCaptioner (`ScriptedCaptioner`) whose next word is known: image k in
  role r says its role's caption of scene k, then <eos>, then babbles on; off its script it says
  other words. 36 images, as many as the vocabulary has words, so that even an argmax over the
  batch axis runs and is named. Told apart: decoding past <eos>, <eos> or <bos> in the text, the
  roles forgotten (role 0, or the first image's role, for all), the same input fed at every step
  (or the prediction read at position 0), only the last word fed, one parallel pass over
  <bos> + padding (teacher forcing without its targets), not starting at <bos>, argmax over the
  batch, stopping when the first caption ends, max_len off by one, sampling. Then a small real
  RoleCaptioner, handed over in training mode: batch norm must be switched to eval.
- `style_adherence` (plain Python): the referee is `mmcourse.vlm.style_adherence`. Roles come as
  names, ints, a NumPy array and a tensor. Told apart: parsing in ANY role, exact strings (no
  whitespace normalisation), only the default colours and shapes, counting texts that only look
  like their role, a count, a percentage, the share among parsed texts, a mean per role.
- `my_role` (a design): `(my_role_caption, parse_my_role)` for a role of the learner's own; every
  one of the 2304 contents of the grammar must round-trip exactly, no caption may be another
  role's or parse as one, its captions need a word no other role uses, they must be written as the
  model writes (lower-case tokens, single spaces, at most 20), and the parser must say None to
  everything that is not exactly one of its captions (whitespace aside).
- `role_blind_adherence` (a prediction): a model trained without its role token, on roles in
  shares w and asked in the same shares, has style adherence max(w) with greedy decoding and
  sum(w^2) with sampling (1/R both when the roles are balanced). Each half checked on a grid of
  10 share vectors, with its own list of named slips.
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.roles import ROLES, parse_role_caption, role_caption
from ..data.shapes import COLOURS, DEFAULT_COLOURS, DEFAULT_SHAPES, RELATIONS, SHAPES
from ..models.captioner import (
    BOS_ID,
    EOS_ID,
    build_captioner,
    caption_vocab,
    decode_ids,
    teacher_forcing,
)
from ..models.captioner import greedy_decode as _library_greedy_decode
from ..text import tokenize
from ..vlm import caption_loss as _library_caption_loss
from ..vlm import style_adherence as _library_style_adherence
from .core import ExerciseFailed, call_learner, exercise, fail
from .lesson11_contrastive_alignment import _expect_started

LESSON = "12_role_playing_vlm"
CONTENTS = tuple(
    sorted(
        itertools.product(COLOURS, SHAPES, RELATIONS, COLOURS, SHAPES),
        key=lambda c: (c[:2] == c[3:], c[0] == c[3]),
    )
)
"""Every content (subject colour, subject shape, relation, object colour, object shape) of the grammar; those
of two colours first, then one colour, then one object twice (so that a hint shows a scene that can happen)."""


@lru_cache(maxsize=1)
def grammar_vocab():
    """The caption_vocab of every caption of every role: <pad>, <unk>, <bos>, <eos> and 32 words."""
    return caption_vocab([role_caption(r, *c) for c in CONTENTS for r in ROLES])


def _close(a, b, rtol=1e-9):
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-12))


def _content(i: int, seed: int = 0) -> tuple:
    """A deterministic content with two different objects, the i-th of a seeded shuffle."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(CONTENTS))
    picked = [CONTENTS[j] for j in order if CONTENTS[j][:2] != CONTENTS[j][3:]]
    return picked[i]


# --- prefix_lm_loss -------------------------------------------------------------------------


def _lm_cases():
    """(description, outputs (B, P + T, V) float64, ids (B, T + 1) int64, P, learned)."""
    vocab = grammar_vocab()
    generator = torch.Generator().manual_seed(12)

    def case(captions, P):
        inputs, targets = teacher_forcing(vocab, captions)  # the referee builds the sequences
        ids = torch.cat([inputs[:, :1], targets.clamp(min=0)], dim=1)  # <bos> w1 .. wn <eos> <pad> ..
        T = inputs.shape[1]
        outputs = 2.0 * torch.randn(
            len(captions), P + T, len(vocab), generator=generator, dtype=torch.float64
        )
        # a model half-way through training: the right next token gets a bonus, larger for some captions than
        # others, so that the slips (other targets, other positions, other weights) move the loss far
        bonus = torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64)[: len(captions), None] * (ids[:, 1:] != 0)
        outputs[:, P:].scatter_add_(2, ids[:, 1:, None], bonus[..., None])
        return outputs, ids

    three = [
        role_caption("child", "red", "circle", "left of", "blue", "square"),
        role_caption("narrator", "green", "triangle", "right of", "yellow", "circle"),
        role_caption("poet", "blue", "square", "above", "red", "triangle"),
    ]
    two = [
        role_caption("painter", "yellow", "circle", "left of", "green", "square"),
        role_caption("narrator", "red", "square", "above", "blue", "circle"),
    ]
    a, b = case(three, 5), case(two, 2)
    return [
        (
            "3 captions of 16, 9 and 8 words (a child's, a narrator's, a poet's), P = 5 prefix positions "
            "(4 image tokens and the role token), T = 17",
            *a,
            5,
            False,
        ),
        (
            "2 captions of 10 and 8 words, P = 2 (one pooled image token and the role token), outputs that "
            "require a gradient",
            *b,
            2,
            True,
        ),
    ]


def reference_lm_loss(outputs, ids, prefix):
    """The right loss, through the library: caption_loss(outputs[:, P:], ids[:, 1:] with <pad> -> -100)."""
    targets = ids[:, 1:].masked_fill(ids[:, 1:] == 0, -100)
    return _library_caption_loss(outputs[:, prefix:], targets)


def _per_token(logits, targets):
    """logits (B, n, V), targets (B, n) ids -> (B, n) cross-entropies, float64."""
    return F.cross_entropy(logits.transpose(1, 2).double(), targets, reduction="none")


def lm_variants(outputs, ids, P) -> dict:
    """name -> the loss a classic slip gives (float64)."""
    outputs = outputs.detach().double()
    B, T = ids.shape[0], ids.shape[1] - 1
    target = ids[:, 1:]

    def mean(logits, targets, keep=None):
        keep = (targets != 0) if keep is None else keep
        return float((_per_token(logits, targets) * keep).sum() / keep.sum())

    right = _per_token(outputs[:, P:], target)
    real = target != 0
    real_but_eos = real & (target != EOS_ID)
    variants = {
        "unshifted": mean(outputs[:, P : P + T], ids[:, :T]),
        "late": mean(outputs[:, P + 1 : P + T], ids[:, 1:T]),
        "early": mean(outputs[:, P - 1 : P - 1 + T], target),
        "bos": mean(outputs[:, P - 1 : P + T], ids),
        "no prefix": mean(outputs[:, :T], target),
        "padding": mean(outputs[:, P:], target, torch.ones_like(real)),
        "input mask": mean(outputs[:, P:], target, ids[:, :T] != 0),
        "all positions": float((right * real).sum() / (B * T)),
        "no eos": float((right * real_but_eos).sum() / real_but_eos.sum()),
        "per caption": float(((right * real).sum(dim=1) / real.sum(dim=1)).mean()),
        "sum": float((right * real).sum()),
    }
    return variants


_LM_HINTS = {
    "unshifted": (
        "your targets are not shifted: the output at position P + t has just read ids[:, t] and must predict "
        "the NEXT token, ids[:, t + 1]. Compared with ids[:, t], the word it has already read, the model only "
        "learns to copy its input — a loss that falls to 0 while the model learns nothing about speaking. "
        "Targets: ids[:, 1:]; their predictions: the T outputs from position P on."
    ),
    "late": (
        "your slice of the outputs starts one position late, at P + 1. The output at position P + t has read "
        "ids[:, t], so the first word, ids[:, 1], is predicted by outputs[:, P] — the output that read <bos>. "
        "Yours compares each output with the word it has just read, and the first word is never predicted."
    ),
    "early": (
        "your slice of the outputs starts one position early, at P - 1, the last prefix token (the role): "
        "each output is then compared with the token two places after the one it read. The output that "
        "read ids[:, t] sits at position P + t; it predicts ids[:, t + 1]: outputs[:, P:] against ids[:, 1:]."
    ),
    "bos": (
        "you also asked the last prefix position (the role token) to predict <bos>. <bos> is given to the "
        "model, never predicted: the targets are ids[:, 1:], T of them, predicted by the T outputs at "
        "positions P ... P + T - 1."
    ),
    "no prefix": (
        "you took the first T outputs, outputs[:, :T]: they sit on the image and role tokens (positions 0 "
        "... P - 1) and the first words. The decoder's outputs cover the whole sequence, prefix first; the "
        "caption's predictions come after the prefix: outputs[:, P:]."
    ),
    "padding": (
        "the padding is in your loss: after <eos> the targets are <pad> (id 0), and predicting padding is "
        "no skill to learn — it also lowers the loss of short captions for nothing. Leave out every target "
        "that is padding (ignore_index=0 in F.cross_entropy, or a mask ids[:, 1:] != 0)."
    ),
    "input mask": (
        "your mask comes from the inputs (ids[:, :-1] != 0), not from the targets: the position that reads "
        "<eos> has <pad> as its target, and it counts in yours. Mask where the TARGET is padding: "
        "ids[:, 1:] != 0."
    ),
    "all positions": (
        "you zeroed the padding's losses but divided by all B x T positions, padding included: divide by "
        "the number of real target tokens instead (mask.sum())."
    ),
    "no eos": (
        "you left <eos> out of the loss. The model must learn to predict it — it is how the model says "
        "'done'; without it greedy decoding never stops. Only <pad> (id 0) is left out."
    ),
    "per caption": (
        "you took each caption's mean, then the mean over the captions, so the words of short captions "
        "weigh more. The training loss (mmcourse.vlm.caption_loss, F.cross_entropy with ignore_index) is "
        "the mean over ALL real target tokens of the batch."
    ),
    "sum": (
        "you summed the tokens' losses: take their mean over the real target tokens, so the loss does not "
        "grow with the batch or the captions' length."
    ),
}


def _lm_value(got, case, B, T) -> float:
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return loss`?")
    if not isinstance(got, torch.Tensor):
        if isinstance(got, (numbers.Real, np.ndarray, np.generic)):
            fail(
                f"on {case}: you returned {type(got).__name__} {got!r}, not a torch tensor. Training calls "
                "loss.backward(), which a plain number cannot do: return the 0-dim tensor itself, without "
                ".item(), float() or .numpy()."
            )
        fail(f"on {case}: you returned {type(got).__name__}; return the loss, a 0-dim torch tensor.")
    shape = tuple(got.shape)
    if shape == (B, T):
        fail(
            f"on {case}: you returned a ({B}, {T}) tensor, one loss per target position (reduction='none'?). "
            "Return ONE number: the mean over the real target tokens."
        )
    if shape == (B,):
        fail(
            f"on {case}: you returned {B} numbers, one per caption: return one number, the mean over all tokens."
        )
    if got.dim() != 0:
        fail(
            f"on {case}: your loss has shape {shape}; return a 0-dim tensor (one number), as F.cross_entropy does."
        )
    if not got.is_floating_point():
        fail(f"on {case}: your loss has dtype {got.dtype}; it must be a float tensor.")
    return float(got.detach())


def _lm_hint(case, got, outputs, ids, P, want) -> str:
    if math.isnan(got) or math.isinf(got):
        return (
            f"on {case}: your loss is {got}. Every logit is finite here: did you divide by a count of 0, or "
            "take the log of a 0?"
        )
    for name, value in lm_variants(outputs, ids, P).items():
        if _close(got, value, rtol=1e-5):
            return f"on {case}: your loss is {got:.6g} instead of {want:.6g}: {_LM_HINTS[name]}"
    return (
        f"on {case}: your loss is {got:.6g}, but should be {want:.6g}. The recipe: the targets are ids[:, 1:] "
        "(each token predicted by the output that read the token before it); those outputs are outputs[:, P:]; "
        "the cross-entropy of each, leaving out the targets that are <pad>; the mean over the real targets."
    )


def _lm_gradient(answer, case, outputs, ids, P, want):
    leaf = outputs.clone().requires_grad_(True)
    got = call_learner(answer, case, leaf, ids.clone(), P, copy_inputs=False)
    value = _lm_value(got, case, ids.shape[0], ids.shape[1] - 1)
    if not _close(value, want, rtol=1e-5):
        return value
    if not got.requires_grad:
        fail(
            f"on {case}: the value is right but no gradient flows through it: something was detached (.item(), "
            "float(), .numpy(), torch.tensor(...) or torch.no_grad() on the way). Build the loss from torch "
            "operations on `outputs` itself."
        )
    got.backward()
    reference = outputs.clone().requires_grad_(True)
    targets = ids[:, 1:].masked_fill(ids[:, 1:] == 0, -100)
    F.cross_entropy(reference[:, P:].reshape(-1, reference.shape[-1]), targets.reshape(-1)).backward()
    if leaf.grad is None or not np.allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-4, atol=1e-7):
        fail(
            f"on {case}: the value is right but the gradient with respect to `outputs` is not: is part of the "
            "computation detached (a .detach(), .data or torch.no_grad())?"
        )
    return value


@exercise(
    "prefix_lm_loss",
    lesson=LESSON,
    description="teacher forcing in a prefix LM: targets shifted by one, prefix and padding out of the loss",
)
def check_prefix_lm_loss(answer):
    """prefix_lm_loss(outputs (B, P + T, V), ids (B, T + 1), prefix P) -> 0-dim tensor."""
    _expect_started(answer, "a function prefix_lm_loss(outputs, ids, prefix) -> 0-dim tensor")
    cases = _lm_cases()
    for case, outputs, ids, P, learned in cases:
        want = float(reference_lm_loss(outputs, ids, P))
        if learned:
            got = _lm_gradient(answer, case, outputs, ids, P, want)
        else:
            got = _lm_value(call_learner(answer, case, outputs, ids, P), case, ids.shape[0], ids.shape[1] - 1)
        if not _close(got, want, rtol=1e-5):
            fail(_lm_hint(case, got, outputs, ids, P, want))
    return (
        f"equal to mmcourse.vlm.caption_loss on teacher_forcing's targets in {len(cases)} cases — shifted by "
        "one, the prefix and the padding left out, <eos> kept, one mean over the real tokens; the gradient too."
    )


# --- greedy_decode --------------------------------------------------------------------------


class ScriptedCaptioner(nn.Module):
    """A stand-in for RoleCaptioner whose next word is known, so a decoder can be checked exactly.

    images (B, C, H, W): image b is filled with the number k of its scene; roles (B,) role ids;
    inputs (B, T) word ids -> logits (B, T, V). scripts[k][r] is the word ids that scene k says in
    role r: its role caption, <eos>, then "and it is" (so decoding past <eos> shows). At position t,
    having read `last`, the model is on its script when `last` is the script's word t - 1 (<bos> for
    t = 0): it then gives the script's word t a logit 4 above the others (small fixed noise, |n| <=
    1.5). Off its script it says 4 + (5 * last + 3 * t) % (V - 4), never <eos>.
    """

    def __init__(self, vocab, contents, max_words: int = 24):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # so that next(model.parameters()) gives a device
        self.max_words, self.vocab_size = max_words, len(vocab)
        babble = [vocab.stoi[w] for w in ("and", "it", "is")]
        self.scripts = [
            [vocab.token_ids(role_caption(role, *content)) + [EOS_ID] + babble for role in ROLES]
            for content in contents
        ]
        noise = torch.randn(
            5, 7, self.vocab_size, generator=torch.Generator().manual_seed(0), dtype=torch.float64
        )
        self.register_buffer("noise", noise.clamp(-1.5, 1.5))

    def next_word(self, k: int, r: int, t: int, last: int) -> int:
        script = self.scripts[k][r]
        expected = BOS_ID if t == 0 else (script[t - 1] if t - 1 < len(script) else None)
        if last == expected and t < len(script):
            return script[t]
        return 4 + (5 * last + 3 * t) % (self.vocab_size - 4)

    def forward(self, images, roles, inputs):
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.shape[1] > self.max_words:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(
                f"inputs must be word ids (B, T) with T <= {self.max_words}, but have shape {shape}."
            )
        if inputs.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"inputs must be integer word ids (torch.long), but have dtype {inputs.dtype}.")
        roles = torch.as_tensor(roles)
        if roles.shape != (inputs.shape[0],):
            raise ValueError(
                f"roles must have shape ({inputs.shape[0]},), one role id per image, but has {tuple(roles.shape)}."
            )
        if images.shape[0] != inputs.shape[0]:
            raise ValueError(f"images has {images.shape[0]} images but inputs {inputs.shape[0]} rows.")
        keys = images.reshape(images.shape[0], -1)[:, 0].round().long().tolist()
        B, T = inputs.shape
        logits = torch.empty(B, T, self.vocab_size, dtype=torch.float64)
        for b, (k, r, row) in enumerate(zip(keys, roles.tolist(), inputs.tolist())):
            if not 0 <= r < len(ROLES):
                raise ValueError(f"role ids must be in 0 .. {len(ROLES) - 1}, but got {r}.")
            for t, last in enumerate(row):
                logits[b, t] = self.noise[t % 5, last % 7]
                logits[b, t, self.next_word(k, r, t, last)] += 4.0
        return logits.float()


def scripted_case(n_scenes=None):
    """(model, vocab, images (B, 3, 8, 8), roles (B,)): B = the vocabulary's size, every role 9 times."""
    vocab = grammar_vocab()
    B = n_scenes or len(vocab)
    contents = [_content(i, seed=12) for i in range(B)]
    model = ScriptedCaptioner(vocab, contents)
    images = torch.arange(B, dtype=torch.float32)[:, None, None, None].expand(B, 3, 8, 8).clone()
    roles = torch.tensor([(k * 3 + k // 4 + 1) % len(ROLES) for k in range(B)])
    return model, vocab, images, roles


def decode_variant(model, vocab, images, roles, max_len, *, start=BOS_ID, feed="own", axis=-1, position=-1,
                   stop="all", role_mode="given", render="cut") -> list[str]:  # fmt: skip
    """What a decoder with one classic slip returns. The defaults are greedy decoding done right.

    render: cut (at the first <eos> or <pad>, as decode_ids does) | skip (<pad> left out, cut at <eos>):
    the two ways a learner turns ids into text, which differ only when a slip puts <pad> mid-caption.

    feed: own (its predictions appended) | same (the start token alone at every step) | last (only the
    last prediction) | parallel (one pass over <bos> and padding); axis: -1 | 0 (argmax over the batch);
    position: -1 | 0 (the prediction read at position 0); stop: all | any (stop when one caption ends);
    role_mode: given | zeros | first.
    """
    B = images.shape[0]
    roles = torch.as_tensor(roles)
    roles = {"given": roles, "zeros": torch.zeros_like(roles), "first": roles[:1].expand(B)}[role_mode]
    model.eval()
    with torch.no_grad():
        if feed == "parallel":
            inputs = torch.zeros(B, max_len, dtype=torch.long)
            inputs[:, 0] = start
            return _render(vocab, model(images, roles, inputs).argmax(dim=-1), render)
        inputs = torch.full((B, 1), start, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        words = []
        for _ in range(max_len):
            fed = {"own": inputs, "same": inputs[:, :1], "last": inputs[:, -1:]}[feed]
            chosen = model(images, roles, fed)[:, position].argmax(dim=axis)
            if chosen.shape != (B,):
                break
            chosen = chosen.masked_fill(done, 0)
            words.append(chosen)
            inputs = torch.cat([inputs, chosen[:, None]], dim=1)
            done |= chosen == EOS_ID
            if (stop == "any" and bool(done.any())) or bool(done.all()):
                break
    return _render(vocab, torch.stack(words, dim=1), render)


def _render(vocab, rows, how) -> list[str]:
    if how == "cut":
        return decode_ids(vocab, rows)
    return decode_ids(vocab, [[i for i in row if i != 0] for row in rows.tolist()])


_DECODE_VARIANTS = [
    (
        {"role_mode": "zeros"},
        "every image was captioned in role 0 (the narrator's style): the roles never reached the model. Pass "
        "each image's own role id, model(images, roles, inputs), at every step.",
    ),
    (
        {"role_mode": "first"},
        "every image was captioned in the FIRST image's role. roles holds one role id per image: pass all of "
        "them, model(images, roles, inputs).",
    ),
    (
        {"feed": "same"},
        "every step gives the first word again: the model saw the same input, <bos> alone, at every step — "
        "or you read its prediction at position 0 instead of the last one. Append each step's prediction to "
        "the inputs (torch.cat along dim=1) and read the next word from the LAST position, logits[:, -1].",
    ),
    (
        {"feed": "last"},
        "you fed the model only the last word at each step, so it lost <bos> and everything it had said: "
        "the next word depends on the whole sequence so far. Keep all of it, <bos> first, and append each "
        "new word.",
    ),
    (
        {"feed": "parallel"},
        "you ran the model once over <bos> and padding and took the argmax at every position, as in "
        "training. Teacher forcing can do that because it feeds the TRUE previous words; in generation there "
        "are none — the model must be fed its OWN prediction, one step at a time: predict, append, run again.",
    ),
    (
        {"start": 0},
        "your captions do not start from <bos> (id 2): you started from <pad> (0). The model was trained on "
        "sequences that begin with <bos>; start every row with it, torch.full((B, 1), BOS_ID).",
    ),
    (
        {"start": EOS_ID},
        "your captions start from <eos> (id 3), not <bos> (id 2): start every row with BOS_ID = 2.",
    ),
    (
        {"start": 1},
        "your captions start from <unk> (id 1), not <bos> (id 2): start every row with BOS_ID = 2.",
    ),
    (
        {"axis": 0},
        "you took the argmax over the BATCH axis: the next-word logits are (B, V), one row per image, so "
        "each image's next word is the argmax of its own row, over the vocabulary: argmax(dim=-1).",
    ),
    (
        {"stop": "any"},
        "you stopped as soon as ONE caption reached <eos>, cutting the others short. Stop when every caption "
        "has ended (or after max_len words); a caption that has ended just gets padding meanwhile.",
    ),
]


def _decoded_texts(got, case, B) -> list[str]:
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return`?")
    if isinstance(got, str):
        fail(f"on {case}: you returned one string; return a list of {B} strings, one caption per image.")
    if isinstance(got, torch.Tensor) or isinstance(got, np.ndarray):
        fail(
            f"on {case}: you returned a {type(got).__name__} (word ids?); return a list of {B} strings: join the "
            "words, vocab.itos[i], with spaces (mmcourse.models.captioner.decode_ids does that and cuts at <eos>)."
        )
    try:
        texts = list(got)
    except TypeError:
        fail(f"on {case}: you returned {type(got).__name__}; return a list of {B} strings.")
    if len(texts) != B:
        fail(f"on {case}: you returned {len(texts)} captions for {B} images; return one per image.")
    if not all(isinstance(t, str) for t in texts):
        bad = next(t for t in texts if not isinstance(t, str))
        fail(
            f"on {case}: your captions must be strings, but one is {type(bad).__name__} {str(bad)[:60]}: join the "
            "words with spaces, ' '.join(...)."
        )
    return texts


def _where(i, roles, got, want) -> str:
    return f"image {i}, role {ROLES[int(roles[i])]!r}: you returned {got!r}, the model says {want!r}"


def _decode_hint(answer, case, got, want, model, vocab, images, roles, max_len) -> str:
    second = _decoded_texts(call_learner(answer, case, model, vocab, images, roles, max_len), case, len(want))
    if second != got:
        return (
            f"on {case}: two runs on the same images gave different captions — your decoder draws at random "
            "(torch.multinomial, sampling?). Greedy decoding is deterministic: the argmax of the logits at each step."
        )
    for switches, hint in _DECODE_VARIANTS:
        for render in ("cut", "skip"):
            if got == decode_variant(model, vocab, images, roles, max_len, **switches, render=render):
                return f"on {case}: {hint}"
    for i, (g, w) in enumerate(zip(got, want)):
        if g.split()[:1] == ["<bos>"]:
            return f"on {case}, {_where(i, roles, g, w)}: <bos> is the start signal, not part of the caption; leave it out."
        if "<eos>" in g.split():
            return (
                f"on {case}, {_where(i, roles, g, w)}: <eos> is in your text. A caption ends AT <eos>: cut it "
                "there, leaving out <eos> and anything after it."
            )
    for i, (g, w) in enumerate(zip(got, want)):
        finished = len(w.split()) < max_len
        if finished and g != w and g.split()[: len(w.split())] == w.split():
            return (
                f"on {case}, {_where(i, roles, g, w)}: you went on past <eos>. The words after it are the model "
                "babbling: cut each caption at its first <eos> (and a caption that has ended needs no more words)."
            )
    long = [i for i, w in enumerate(want) if len(w.split()) == max_len]
    if long:
        lengths = {len(got[i].split()) for i in long}
        if lengths in ({max_len - 1}, {max_len + 1}):
            i = long[0]
            return (
                f"on {case}, {_where(i, roles, got[i], want[i])}: this caption has not ended after max_len = "
                f"{max_len} words, and yours has {lengths.pop()}: give it exactly max_len words (<bos> does not count)."
            )
    i = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    return (
        f"on {case}, {_where(i, roles, got[i], want[i])}. Greedy decoding: start every row with <bos>; at each step "
        "run the model on the images, the roles and the words so far, take the argmax of the LAST position's "
        "logits, append it; cut each caption at its first <eos>."
    )


def real_case():
    """(model in TRAINING mode, vocab, images (6, 3, 16, 16), roles (6,)): a tiny untrained RoleCaptioner."""
    from ..data.roles import make_role_captions

    vocab = grammar_vocab()
    data = make_role_captions(6, seed=3)
    state = torch.random.get_rng_state()
    torch.manual_seed(2)  # a seed whose captions differ from image to image, and some end before max_len
    model = build_captioner(vocab_size=len(vocab), dim=16, depth=1, heads=2, image_channels=[8, 8, 8])
    torch.random.set_rng_state(state)
    with torch.no_grad():  # bolder weights: an untrained model that says different things for each role
        model.role_embedding.weight.mul_(3.0)
        model.head.weight.mul_(4.0)
        model.head.bias[: BOS_ID + 1] = -30.0  # like a trained model, it never says <pad>, <unk> or <bos>
    return model.train(), vocab, torch.as_tensor(data.images), torch.as_tensor(data.labels)


def train_mode_decode(model, vocab, images, roles, max_len=20) -> list[str]:
    """Greedy decoding with the model left in training mode (batch norm on the batch's own statistics)."""
    model = copy.deepcopy(model).train()
    inputs = torch.full((images.shape[0], 1), BOS_ID, dtype=torch.long)
    with torch.no_grad():
        for _ in range(max_len):
            inputs = torch.cat([inputs, model(images, roles, inputs)[:, -1].argmax(dim=-1)[:, None]], dim=1)
    return decode_ids(vocab, inputs[:, 1:])


@exercise(
    "greedy_decode",
    lesson=LESSON,
    description="greedy decoding of the role captioner: <bos> first, its own predictions fed back, cut at <eos>",
)
def check_greedy_decode(answer):
    """greedy_decode(model, vocab, images (B, C, H, W), roles (B,), max_len=20) -> list of B strings."""
    _expect_started(
        answer, "a function greedy_decode(model, vocab, images, roles, max_len=20) -> list of strings"
    )
    model, vocab, images, roles = scripted_case()
    B, max_len = len(images), 12
    case = (
        f"a scripted model that knows what {B} scenes say in each role (the child's captions are 16 words "
        f"long), max_len = {max_len}"
    )
    want = _library_greedy_decode(model, vocab, images, roles, max_len=max_len)
    got = _decoded_texts(call_learner(answer, case, model, vocab, images, roles, max_len), case, B)
    if got != want:
        fail(_decode_hint(answer, case, got, want, model, vocab, images, roles, max_len))
    model, vocab, images, roles = real_case()
    case = (
        "a tiny untrained RoleCaptioner handed over in training mode, 6 images, max_len left at its default"
    )
    want = _library_greedy_decode(copy.deepcopy(model), vocab, images, roles)
    got = _decoded_texts(
        call_learner(answer, case, copy.deepcopy(model), vocab, images, roles), case, len(want)
    )
    if got != want:
        if got == train_mode_decode(model, vocab, images, roles):
            fail(
                f"on {case}: your captions are those of the model in TRAINING mode. Its batch norm then uses "
                "the statistics of the batch it is given (and updates its running ones), so a caption depends on "
                "the other images. Call model.eval() before decoding (and model.train(was_training) after)."
            )
        i = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
        fail(f"on {case}, {_where(i, roles, got[i], want[i])}.")
    return (
        f"equal to mmcourse.models.captioner.greedy_decode on {B} scripted scenes in 4 roles (cut at <eos>, at "
        "max_len, the roles kept) and on a real RoleCaptioner in eval mode."
    )


# --- style_adherence ------------------------------------------------------------------------

# (role asked for, text, what it is)
_ADHERENCE_TEXTS = [
    ("narrator", role_caption("narrator", "red", "circle", "left of", "blue", "square"), "right"),
    ("poet", "above  a green triangle rests\ta red square \n", "right, extra whitespace"),
    ("child", role_caption("child", "cyan", "diamond", "below", "yellow", "circle"), "right, cyan diamond"),
    ("painter", role_caption("painter", "green", "square", "right of", "red", "triangle"), "right"),
    ("narrator", role_caption("poet", "blue", "triangle", "below", "green", "circle"), "another role"),
    ("painter", "i painted the red circle left of the blue square", "lookalike: colours, not pigments"),
    ("child", "look ! the circle is red and it is left of the square that", "lookalike: cut short"),
    ("poet", "left of a blue square rests a red", "lookalike: cut short"),
    ("narrator", role_caption("narrator", "yellow", "square", "above", "green", "circle"), "right"),
    ("painter", "", "empty"),
    (
        "narrator",
        role_caption("narrator", "purple", "triangle", "right of", "red", "circle"),
        "right, purple",
    ),
    ("child", role_caption("child", "blue", "circle", "left of", "yellow", "triangle"), "right"),
]


def _adherence_cases():
    """(description, texts, roles as given to the learner, roles as names, lookalike flags)."""
    names = [r for r, _, _ in _ADHERENCE_TEXTS]
    texts = [t for _, t, _ in _ADHERENCE_TEXTS]
    looks = [kind.startswith("lookalike") for _, _, kind in _ADHERENCE_TEXTS]
    rng = np.random.default_rng(4)
    contents = [_content(i, seed=4) for i in range(10)]
    spoken = rng.integers(0, len(ROLES), 10)
    asked = spoken.copy()
    asked[[1, 4, 7]] = (spoken[[1, 4, 7]] + np.array([1, 2, 3])) % len(ROLES)  # 3 of 10 in another role
    second = [role_caption(ROLES[s], *c) for s, c in zip(spoken, contents)]
    second[5] = second[5] + "  "
    asked_names = [ROLES[a] for a in asked]
    return [
        ("12 texts, roles given as names (a list of str)", texts, list(names), names, looks),
        ("10 texts, roles given as ids (a NumPy array of int64)", second, asked.astype(np.int64), asked_names,
         [False] * 10),
        ("10 texts, roles given as a torch tensor of ids", second, torch.as_tensor(asked), asked_names,
         [False] * 10),
        ("the 12 texts again, roles as a Python list of ints", texts, [ROLES.index(r) for r in names], names, looks),
    ]  # fmt: skip


def adherence_variants(texts, names, looks) -> dict:
    """name -> what a classic slip returns."""
    n = len(texts)
    mine = [parse_role_caption(r, t) is not None for r, t in zip(names, texts)]
    anyone = [any(parse_role_caption(r, t) is not None for r in ROLES) for t in texts]
    exact = [ok and t == " ".join(t.split()) for ok, t in zip(mine, texts)]
    defaults = [
        ok and (p := parse_role_caption(r, t)) is not None and {p[0], p[3]} <= set(DEFAULT_COLOURS)
        and {p[1], p[4]} <= set(DEFAULT_SHAPES)
        for ok, r, t in zip(exact, names, texts)
    ]  # fmt: skip
    per_role = [np.mean([m for m, r in zip(mine, names) if r == role]) for role in ROLES if role in names]
    right = sum(mine) / n
    return {
        "any": sum(anyone) / n,
        "exact": sum(exact) / n,
        "defaults": sum(defaults) / n,
        "lookalike": sum(m or lk for m, lk in zip(mine, looks)) / n,
        "among parsed": sum(mine) / max(1, sum(anyone)),
        "per role": float(np.mean(per_role)),
        "count": float(sum(mine)),
        "percent": 100 * right,
    }


_ADHERENCE_HINTS = {
    "any": (
        "you counted texts that parse as a caption of ANY role. Style adherence asks whether the text speaks "
        "in the role that was REQUESTED: a poet's caption asked of the narrator is a miss. Parse each text "
        "with its own requested role, parse_role_caption(role, text)."
    ),
    "exact": (
        "a text with extra whitespace (two spaces, a tab, a trailing newline) did not count for you: you "
        "compared exact strings. parse_role_caption splits the text into words first, so whitespace does not "
        "matter — let it do the parsing."
    ),
    "defaults": (
        "you seem to compare with the captions of the default colours and shapes only (a list of reference "
        "strings?): a cyan diamond, or purple, is in the grammar too, and whitespace should not matter. "
        "parse_role_caption(role, text) knows the whole grammar."
    ),
    "lookalike": (
        "you counted texts that only LOOK like their role — its opening words, its own words — but are not "
        "captions of it: one cut short, or a painter's with plain colours instead of pigments. A text adheres "
        "when parse_role_caption(role, text) is not None."
    ),
    "among parsed": (
        "you divided by the number of texts that parse in SOME role. Style adherence is a share of ALL the "
        "texts: an empty or broken text is a miss too."
    ),
    "per role": (
        "you averaged the roles' adherences (a mean per role, then over the roles): that weighs the texts of "
        "a rare role more. The metric is the share of all texts that parse in their role."
    ),
    "count": "that is the NUMBER of texts in their role; return the share, divided by the number of texts.",
    "percent": "a percentage; return a share between 0 and 1.",
}


def _adherence_value(got, case, n) -> float:
    if got is None:
        fail(f"your function returned None on {case} — did you forget `return`?")
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    if isinstance(got, (list, tuple)) or (isinstance(got, np.ndarray) and got.size == n and n > 1):
        fail(
            f"on {case}: you returned {n} values, one per text. Return their share: one number, the mean of "
            "the True/False answers."
        )
    array = np.asarray(got)
    if array.size != 1 or array.dtype.kind not in "biuf":
        fail(
            f"on {case}: you returned {type(got).__name__} {str(got)[:60]}; return one number between 0 and 1."
        )
    return float(array.reshape(()))


@exercise(
    "style_adherence",
    lesson=LESSON,
    description="style adherence: the share of texts that parse as captions of their requested role",
)
def check_style_adherence(answer):
    """style_adherence(texts: list of str, roles: names or ids, one per text) -> float in [0, 1]."""
    _expect_started(answer, "a function style_adherence(texts, roles) -> float")
    cases = _adherence_cases()
    for case, texts, roles, names, looks in cases:
        want = _library_style_adherence(texts, names)
        try:
            got = call_learner(answer, case, list(texts), roles)
        except ExerciseFailed as failure:
            if isinstance(roles, list) and isinstance(roles[0], str):
                raise
            raise ExerciseFailed(
                f"{failure.hint} Roles may come as ids too — ints, NumPy ints or a tensor of them: ROLES[int(r)] "
                "turns one into its name (and leaves a name as it is if you check isinstance(r, str) first)."
            ) from None
        got = _adherence_value(got, case, len(texts))
        if _close(got, want, rtol=1e-6):
            continue
        where = f"on {case}: you returned {got:.4g} instead of {want:.4g}"
        for name, value in adherence_variants(texts, names, looks).items():
            if _close(got, value, rtol=1e-6):
                fail(f"{where}: {_ADHERENCE_HINTS[name]}")
        if not isinstance(roles[0], str):
            fail(
                f"{where}. Here the roles are ids: is each id turned into its name, ROLES[int(r)], and parsed in "
                "that role?"
            )
        fail(
            f"{where}. A text adheres when parse_role_caption(its requested role, text) is not None; return the share."
        )
    return (
        f"equal to mmcourse.vlm.style_adherence on {len(cases)} cases — roles as names, ints, a NumPy array and "
        "a tensor; another role's caption, lookalikes and empty text missed; whitespace ignored."
    )


# --- my_role (a design) ---------------------------------------------------------------------

MAX_TOKENS = 20


@lru_cache(maxsize=1)
def _library_captions() -> tuple:
    """(role, content, caption) for every role and content of the grammar."""
    return tuple((r, c, role_caption(r, *c)) for c in CONTENTS for r in ROLES)


@lru_cache(maxsize=1)
def _library_words() -> frozenset:
    return frozenset(w for _, _, caption in _library_captions() for w in caption.split())


def _as_content(result):
    """A parser's result as a tuple (None stays None); anything else is returned as it is."""
    if isinstance(result, (list, tuple)) and not isinstance(result, str):
        return tuple(result)
    return result


def _content_hint(got, content, caption) -> str:
    head = f"parse_my_role({caption!r}) returned {got!r}, but that caption says {content!r}"
    if isinstance(got, tuple) and sorted(map(str, got)) == sorted(content):
        return (
            f"{head}: the same words in another order. Return (subject colour, subject shape, relation, object "
            "colour, object shape), in that order."
        )
    if isinstance(got, tuple) and len(got) == 5 and got[2] != content[2] and str(got[2]) in content[2]:
        return f"{head}: the relation must be the whole RELATIONS string, {content[2]!r}, not {got[2]!r}."
    if isinstance(got, tuple) and len(got) != 5:
        return f"{head}: return 5 strings, the five slots of the content."
    return f"{head}. parse_my_role must invert my_role_caption exactly, for every content."


def _probes(caption: str) -> list[str]:
    words = caption.split()
    probes = [" ".join(words[:-1]), " ".join(words[1:]), caption + " again", caption + " " + words[-1]]
    probes += [" ".join(words[:i] + ["zebra"] + words[i + 1 :]) for i in range(len(words))]
    return probes


@exercise(
    "my_role",
    lesson=LESSON,
    description="design a role of your own: an exact round trip, no collision with the 4 roles, words of its own",
)
def check_my_role(answer):
    """answer = (my_role_caption(sc, ss, rel, oc, os) -> str, parse_my_role(text) -> 5-tuple or None)."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        fail(
            "pass the two functions together, as a pair: check('my_role', (my_role_caption, parse_my_role)) — "
            f"not {type(answer).__name__}."
        )
    speak, parse = answer
    _expect_started(
        speak, "my_role_caption(subject_colour, subject_shape, relation, object_colour, object_shape)"
    )
    _expect_started(parse, "parse_my_role(text) -> 5-tuple or None")
    captions = {}
    for content in CONTENTS:
        case = f"my_role_caption{content!r}"
        caption = call_learner(speak, case, *content)
        if not isinstance(caption, str) or not caption.strip():
            fail(f"{case} returned {caption!r}; return the caption, a non-empty string.")
        written = " ".join(tokenize(caption))
        if caption != written:
            fail(
                f"{case} returned {caption!r}, but the captioner writes lower-case tokens separated by single "
                f"spaces, punctuation as tokens of its own: it could only ever say {written!r}. Write your captions "
                "that way, so that the model can say them exactly."
            )
        if len(caption.split()) > MAX_TOKENS:
            fail(
                f"{case} has {len(caption.split())} tokens; keep captions to at most {MAX_TOKENS}, so that "
                "greedy decoding (max_len=20) can finish them."
            )
        if caption in captions:
            fail(
                f"{captions[caption]!r} and {content!r} get the same caption, {caption!r}: nobody — no parser — "
                "can tell which scene was meant. Every slot must show in the caption."
            )
        captions[caption] = content
    for caption, content in captions.items():
        got = _as_content(call_learner(parse, f"parse_my_role({caption!r})", caption))
        if got is None:
            fail(
                f"parse_my_role does not recognise your own caption {caption!r} (of {content!r}): it returned None."
            )
        if got != content:
            fail(_content_hint(got, content, caption))
    caption, content = next(iter(captions.items()))
    spaced = "  " + caption.replace(" ", "  \t") + " \n"
    if _as_content(call_learner(parse, f"parse_my_role({spaced!r})", spaced)) != content:
        fail(
            f"parse_my_role({spaced!r}) should give {content!r}: whitespace does not change a caption "
            "(parse_role_caption ignores it too). Normalise it first: ' '.join(text.split())."
        )
    for caption in captions:
        for role in ROLES:
            other = parse_role_caption(role, caption)
            if other is not None:
                fail(
                    f"your caption {caption!r} is also a caption of the {role}: parse_role_caption({role!r}, ...) "
                    f"gives {other!r}. Style adherence could not tell your role from the {role}'s: change its words."
                )
    for role, _, caption in _library_captions():
        got = call_learner(parse, f"parse_my_role({caption!r})", caption)
        if got is not None:
            fail(
                f"the {role}'s caption {caption!r} parses as yours (parse_my_role gives {got!r}): a caption in the "
                f"{role}'s style would count as yours. Make parse_my_role accept only your own captions."
            )
    own = sorted({w for c in captions for w in c.split()} - _library_words())
    if not own:
        fail(
            "every word of your captions is already used by the other roles' captions. A role needs a voice of "
            "its own — at least one word only it says (RoleLLM's 'speaking style'; the painter has 'painted' and "
            "its pigments)."
        )
    for caption in list(captions)[::97]:
        for probe in ["", "<eos>", "hello there"] + _probes(caption):
            got = _as_content(call_learner(parse, f"parse_my_role({probe!r})", probe))
            if got is None:
                continue
            theirs = call_learner(speak, f"my_role_caption{got!r}", *got) if got in set(CONTENTS) else None
            if theirs != probe:
                yours = f" (yours for {got!r} is {theirs!r})" if theirs is not None else ""
                fail(
                    f"parse_my_role({probe!r}) returned {got!r}, but {probe!r} is not one of your captions{yours}. "
                    "A style-adherence test needs a parser that says None to everything but your exact captions."
                )
    example = next(c for c, x in captions.items() if x == ("red", "circle", "left of", "blue", "square"))
    return (
        f"all {len(CONTENTS)} contents round-trip, none collides with the {len(ROLES)} roles, and your role has "
        f"{len(own)} word(s) of its own ({', '.join(own[:6])}{', ...' if len(own) > 6 else ''}). For instance: "
        f"{example!r}."
    )


# --- role_blind_adherence (a prediction) ----------------------------------------------------

SHARE_GRID = [
    (0.25, 0.25, 0.25, 0.25),
    (0.55, 0.15, 0.15, 0.15),
    (0.1, 0.2, 0.3, 0.4),
    (0.5, 0.5),
    (0.7, 0.3),
    (0.2, 0.2, 0.2, 0.2, 0.2),
    (0.4, 0.3, 0.1, 0.1, 0.1),
    (0.05, 0.05, 0.9),
    (0.15, 0.6, 0.25),
    (0.3, 0.3, 0.2, 0.2),
]


def blind_greedy(w):
    return max(w)


def blind_sampled(w):
    return sum(x * x for x in w)


_GREEDY_MISTAKES = [
    (lambda w: 1 / len(w),
     "1/R is right only when the roles are balanced. A role-blind model speaks the same style whoever asks; "
     "greedy decoding always takes the most likely words, so it speaks the COMMONEST role's style for every "
     "image — and is right exactly when that role was requested."),
    (lambda w: 1.0,
     "greedy decoding does speak ONE style, fluently, for every image — but the requests come in all roles, "
     "and only those for that style are met."),
    (lambda w: sum(x * x for x in w),
     "sum(w^2) is the chance that a style drawn with the shares w matches a role requested with the same "
     "shares — that is sampling. Greedy decoding draws nothing: it takes the most likely style, every time."),
    (lambda w: min(w),
     "greedy decoding takes the MOST likely words, so the style it speaks is the commonest role's, not the "
     "rarest's."),
    (lambda w: 1 - max(w),
     "1 - max(w) is the share of requests greedy decoding MISSES; adherence is the share it meets."),
    (lambda w: max(w) ** 2,
     "max(w)^2 would be the chance if the model spoke the commonest style with probability max(w); greedy "
     "decoding speaks it always (probability 1), so only the request's chance remains."),
    (lambda w: 0.0,
     "a role-blind model still matches some requests by chance: those for the style it happens to speak."),
]  # fmt: skip

_SAMPLED_MISTAKES = [
    (lambda w: 1 / len(w),
     "1/R is right only when the roles are balanced. A sampled caption is in role s with probability w_s "
     "(what the model learned), the request is for role s with probability w_s, and the two are independent: "
     "add w_s x w_s over the roles."),
    (lambda w: max(w),
     "max(w) is greedy decoding's adherence. Sampling does not always speak the commonest style: it speaks "
     "style s with probability w_s."),
    (lambda w: 1.0,
     "sampling speaks every style in the right proportions overall, but not for the right request: the model "
     "does not know which role was asked."),
    (lambda w: 1 - sum(x * x for x in w),
     "1 - sum(w^2) is the chance of a MISmatch; adherence is the chance of a match."),
    (lambda w: math.sqrt(sum(x * x for x in w)),
     "no square root: the chance that two independent draws with the shares w agree is sum(w_s^2) itself."),
    (lambda w: sum(x * x for x in w) / len(w),
     "no division by R: sum over the roles of P(requested s) P(spoken s) = sum(w_s^2) is already the "
     "probability of a match."),
    (lambda w: max(w) ** 2,
     "max(w)^2 counts only matches in the commonest role; sampling can match in every role: sum(w_s^2)."),
    (lambda w: sum(x**3 for x in w),
     "sum(w^3) weighs each role once too often: P(match) = sum over s of P(requested s) P(spoken s) = sum(w_s^2)."),
    (lambda w: 0.0,
     "a role-blind model still matches some requests by chance: a sampled style agrees with the request "
     "with probability sum(w_s^2)."),
]  # fmt: skip


def _pair(got, case):
    if got is None:
        fail(f"your function returned None for {case} — did you forget `return greedy, sampled`?")
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    array = np.asarray(got, dtype=object)
    if array.shape != (2,):
        fail(f"for {case} you returned {str(got)[:60]}; return two numbers, (greedy, sampled).")
    try:
        return float(array[0]), float(array[1])
    except (TypeError, ValueError):
        fail(f"for {case} you returned {str(got)[:60]}; return two numbers, (greedy, sampled).")


@exercise(
    "role_blind_adherence",
    lesson=LESSON,
    description="predict the style adherence of a model without its role token: max(w) greedy, sum(w^2) sampled",
)
def check_role_blind_adherence(answer):
    """role_blind_adherence(shares) -> (greedy, sampled): a role-blind model's expected style adherence."""
    _expect_started(answer, "a function role_blind_adherence(shares) -> (greedy, sampled)")
    got = np.array(
        [_pair(call_learner(answer, f"shares = {w}", list(w)), f"shares = {w}") for w in SHARE_GRID]
    )
    want = np.array([(blind_greedy(w), blind_sampled(w)) for w in SHARE_GRID])
    if np.allclose(got, want, rtol=1e-6, atol=1e-12):
        return (
            f"right for {len(SHARE_GRID)} share vectors: greedy max(w), sampled sum(w^2) — 1/R both when the "
            "roles are balanced, and never more than chance allows without the role."
        )
    if np.allclose(got, want[:, ::-1], rtol=1e-6, atol=1e-12):
        fail("your two numbers are the right ones in the wrong order: return (greedy, sampled).")
    for column, name, mistakes in ((0, "greedy", _GREEDY_MISTAKES), (1, "sampled", _SAMPLED_MISTAKES)):
        if np.allclose(got[:, column], want[:, column], rtol=1e-6, atol=1e-12):
            continue
        wrong = int(np.flatnonzero(~np.isclose(got[:, column], want[:, column], rtol=1e-6, atol=1e-12))[0])
        where = (
            f"for shares = {SHARE_GRID[wrong]} your {name} adherence is {got[wrong, column]:.4g}, not "
            f"{want[wrong, column]:.4g}"
        )
        for function, hint in mistakes:
            if np.allclose(got[:, column], [function(w) for w in SHARE_GRID], rtol=1e-6, atol=1e-12):
                fail(f"{where}: {hint}")
        fail(
            f"{where}. The model cannot see the role, so the style it speaks is independent of the request: "
            "P(match) = sum over s of P(requested s) x P(spoken s). What is P(spoken s) with "
            f"{'greedy decoding (the most likely words, every time)' if column == 0 else 'sampling (the learned shares)'}?"
        )
    raise AssertionError("unreachable")  # pragma: no cover
