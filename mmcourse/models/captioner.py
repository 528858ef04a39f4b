"""Lesson 12's vision-language model: image tokens and a role token as the prefix of a small decoder.

    vocab = caption_vocab(train.captions)                      # words + <bos> (id 2) and <eos> (id 3)
    model = build_captioner(vocab_size=len(vocab))
    inputs, targets = teacher_forcing(vocab, captions)         # (B, T): <bos> w1 .. wn | w1 .. wn <eos>
    logits = model(images, roles, inputs)                      # (B, T, vocab): one prediction per text position
    texts = greedy_decode(model, vocab, images, roles)         # one caption per image, in its role

The design is LLaVA's (Liu et al., 2023) at toy scale: an image encoder (lesson 08's batch-norm
CNN), a *projector* (one Linear layer) that turns each cell of its feature grid into a token of the
language model's width, and a decoder-only transformer (lesson 10's blocks with a causal mask) that
reads [image tokens, role token, <bos>, words so far] and predicts the next word. The prefix --
image and role -- is seen whole by every position (a prefix LM, as in Raffel et al.'s T5 paper);
the words only see the words before them.

Variants for the lesson's experiments: image_tokens="pooled" gives the decoder ONE image token
(the CNN's pooled vector) instead of the grid; role="none" drops the role token; role="every-layer"
adds the role's embedding to every token before every block.
"""

from __future__ import annotations

import torch
from torch import nn

from ..text import Vocab
from ..validation import expect_positive_int
from .classifier import resolve_settings
from .encoders import ImageEncoder
from .transformer import TransformerBlock

__all__ = ["BOS", "EOS", "BOS_ID", "EOS_ID", "caption_vocab", "teacher_forcing", "prefix_lm_mask", "RoleCaptioner",
           "CAPTIONER_DEFAULTS", "build_captioner", "greedy_decode", "sample_captions", "beam_search",
           "decode_ids"]  # fmt: skip

BOS, EOS = "<bos>", "<eos>"
BOS_ID, EOS_ID = 2, 3


def caption_vocab(captions) -> Vocab:
    """The vocabulary of `captions` with <bos> and <eos> as ids 2 and 3 (after <pad> = 0 and <unk> = 1)."""
    words = Vocab.build(captions).itos[2:]
    return Vocab([BOS, EOS, *words])


def teacher_forcing(vocab: Vocab, captions, max_len: int | None = None):
    """(inputs, targets), each (B, T) int64, for training a decoder by teacher forcing.

    inputs[b] = <bos> w1 ... wn, then <pad> (0); targets[b] = w1 ... wn <eos>, then -100,
    the index cross-entropy ignores: the target at position t is the input at t + 1, and
    padding positions add nothing to the loss. T = the longest caption + 1 (or max_len: a
    longer caption is cut, its last target then the next word, not <eos>).
    """
    if not isinstance(vocab, Vocab) or vocab.itos[BOS_ID : EOS_ID + 1] != [BOS, EOS]:
        raise ValueError("vocab must be a caption_vocab (with <bos> = 2 and <eos> = 3).")
    if isinstance(captions, str):
        raise TypeError("captions must be a list of strings, not one string.")
    ids = [vocab.token_ids(c) for c in captions]
    T = max(len(s) for s in ids) + 1 if max_len is None else expect_positive_int("max_len", max_len)
    inputs = torch.zeros(len(ids), T, dtype=torch.long)
    targets = torch.full((len(ids), T), -100, dtype=torch.long)
    for b, words in enumerate(ids):
        # a caption cut at T keeps its next word (not <eos>) as its last target
        sequence = [BOS_ID, *words, EOS_ID][: T + 1]
        inputs[b, : len(sequence) - 1] = torch.tensor(sequence[:-1])
        targets[b, : len(sequence) - 1] = torch.tensor(sequence[1:])
    return inputs, targets


def prefix_lm_mask(prefix: int, length: int, device=None) -> torch.Tensor:
    """(S, S) bool, S = prefix + length, True = may attend: the prefix sees the whole prefix; a word sees
    the prefix and the words up to itself (a causal mask over the words)."""
    i = torch.arange(prefix + length, device=device)
    causal = i[None, :] <= i[:, None]
    both_in_prefix = (i[None, :] < prefix) & (i[:, None] < prefix)
    return causal | both_in_prefix


class RoleCaptioner(nn.Module):
    """images (B, C, H, W), roles (B,) role ids, inputs (B, T) word ids -> logits (B, T, vocab_size).

    logits[:, t] is the distribution of the word after inputs[:, t]. See the module docstring
    for the parts and the variants (image_tokens, role).
    """

    def __init__(self, vocab_size: int, n_roles: int, in_channels: int = 3, image_size: int = 16,
                 image_channels=(32, 64, 64), pools: int = 3, dim: int = 64, depth: int = 2, heads: int = 4,
                 max_words: int = 24, image_tokens: str = "grid", role: str = "token"):  # fmt: skip
        super().__init__()
        if image_tokens not in ("grid", "pooled"):
            raise ValueError(f"image_tokens must be 'grid' or 'pooled', but got {image_tokens!r}.")
        if role not in ("token", "none", "every-layer"):
            raise ValueError(f"role must be 'token', 'none' or 'every-layer', but got {role!r}.")
        if image_size % 2**pools:
            raise ValueError(f"image_size must be a multiple of 2**pools = {2**pools}, but got {image_size}.")
        self.image_tokens, self.role_mode, self.max_words = image_tokens, role, max_words
        self.encoder = ImageEncoder(in_channels, tuple(image_channels), dim, batch_norm=True, pools=pools)
        self.n_image_tokens = 1 if image_tokens == "pooled" else (image_size // 2**pools) ** 2
        self.projector = nn.Linear(image_channels[-1], dim)  # LLaVA's projector: grid cell -> one token
        self.image_positions = nn.Parameter(0.02 * torch.randn(1, self.n_image_tokens, dim))
        self.role_embedding = nn.Embedding(n_roles, dim)
        self.word_embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.word_positions = nn.Parameter(0.02 * torch.randn(1, max_words, dim))
        self.blocks = nn.ModuleList([TransformerBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size)
        self.config: dict = {}

    @property
    def prefix_length(self) -> int:
        """Image tokens, plus the role token when there is one."""
        return self.n_image_tokens + (1 if self.role_mode == "token" else 0)

    def image_prefix(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> image tokens (B, n_image_tokens, dim), positions added."""
        pooled, grid = self.encoder(images, return_grid=True)
        if self.image_tokens == "pooled":
            tokens = self.projector(grid.amax(dim=(2, 3)))[:, None]  # ONE token: "what", not "where"
        else:
            tokens = self.projector(grid.flatten(2).transpose(1, 2))  # (B, h*w, dim), row-major cells
        return tokens + self.image_positions

    def forward(self, images, roles, inputs):
        if inputs.dim() != 2 or inputs.shape[1] > self.max_words:
            raise ValueError(f"inputs must be word ids (B, T) with T <= {self.max_words}, but have shape "
                             f"{tuple(inputs.shape)}.")  # fmt: skip
        roles = torch.as_tensor(roles, device=inputs.device)
        if roles.shape != (inputs.shape[0],):
            raise ValueError(f"roles must have shape ({inputs.shape[0]},), one role id per image, but has "
                             f"{tuple(roles.shape)}.")  # fmt: skip
        parts = [self.image_prefix(images)]
        role = self.role_embedding(roles)[:, None]  # (B, 1, dim)
        if self.role_mode == "token":
            parts.append(role)
        parts.append(self.word_embedding(inputs) + self.word_positions[:, : inputs.shape[1]])
        x = torch.cat(parts, dim=1)
        mask = prefix_lm_mask(self.prefix_length, inputs.shape[1], x.device)
        for block in self.blocks:
            if self.role_mode == "every-layer":
                x = x + role
            x = block(x, mask)
        return self.head(self.norm(x[:, self.prefix_length :]))


CAPTIONER_DEFAULTS = {
    "vocab_size": 40,
    "n_roles": 4,
    "in_channels": 3,
    "image_size": 16,
    "image_channels": [32, 64, 64],
    "pools": 3,
    "dim": 64,
    "depth": 2,
    "heads": 4,
    "max_words": 24,
    "image_tokens": "grid",
    "role": "token",
}


def build_captioner(name: str = "captioner", **config) -> RoleCaptioner:
    """Lesson 12's RoleCaptioner from settings (CAPTIONER_DEFAULTS lists them); `.config` rebuilds it."""
    if name != "captioner":
        raise ValueError(f"build_captioner builds the model 'captioner', not {name!r}.")
    c = resolve_settings("captioner", config, CAPTIONER_DEFAULTS)
    c["image_channels"] = [int(w) for w in c["image_channels"]]
    model = RoleCaptioner(**c)
    model.config = {"name": "captioner", **c}
    return model


def decode_ids(vocab: Vocab, rows) -> list[str]:
    """Generated ids (after <bos>) -> strings, each cut at its first <eos> (or <pad>)."""
    texts = []
    for row in rows.tolist() if hasattr(rows, "tolist") else rows:
        words = []
        for i in row:
            if i in (EOS_ID, 0):
                break
            words.append(vocab.itos[i])
        texts.append(" ".join(words))
    return texts


@torch.no_grad()
def _generate(model, images, roles, max_len, choose):
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    images, roles = images.to(device), torch.as_tensor(roles, device=device)
    B = images.shape[0]
    inputs = torch.full((B, 1), BOS_ID, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for _ in range(min(max_len, model.max_words - 1)):
        logits = model(images, roles, inputs)[:, -1]  # (B, vocab): the next word's scores
        following = choose(logits)
        following[done] = 0  # a finished caption only gets padding
        inputs = torch.cat([inputs, following[:, None]], dim=1)
        done |= following == EOS_ID
        if bool(done.all()):
            break
    model.train(was_training)
    return inputs[:, 1:]


def greedy_decode(model, vocab, images, roles, max_len: int = 20) -> list[str]:
    """One caption per image: at each step the most likely next word, until <eos> (or max_len words)."""
    return decode_ids(vocab, _generate(model, images, roles, max_len, lambda logits: logits.argmax(dim=-1)))


def sample_captions(model, vocab, images, roles, temperature: float = 1.0, generator=None, max_len: int = 20):
    """One sampled caption per image: each next word drawn from softmax(logits / temperature)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, but got {temperature!r}.")

    def draw(logits):
        probabilities = torch.softmax(logits.float() / temperature, dim=-1).cpu()
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(logits.device)

    return decode_ids(vocab, _generate(model, images, roles, max_len, draw))


@torch.no_grad()
def beam_search(model, vocab, image, role: int, beam: int = 4, max_len: int = 20) -> list[tuple[str, float]]:
    """The `beam` most likely captions of ONE image (C, H, W) in role id `role`, with their log-probabilities.

    Keeps the `beam` best partial captions at every step (by summed log-probability); a caption
    ends at <eos>, and the search stops once no partial caption can beat the `beam`-th finished
    one (or after max_len words). Returns [(caption, log-probability)], best first.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    image = image.to(device)[None]
    alive = [([BOS_ID], 0.0)]
    finished = []
    for _ in range(min(max_len, model.max_words - 1)):
        inputs = torch.tensor([ids for ids, _ in alive], device=device)
        logp = torch.log_softmax(model(image.expand(len(alive), -1, -1, -1),
                                       torch.full((len(alive),), role, device=device), inputs)[:, -1], dim=-1)  # fmt: skip
        candidates = [(ids + [w], score + float(logp[k, w])) for k, (ids, score) in enumerate(alive)
                      for w in logp[k].topk(beam).indices.tolist()]  # fmt: skip
        candidates.sort(key=lambda c: -c[1])
        alive = []
        for ids, score in candidates:
            (finished if ids[-1] == EOS_ID else alive).append((ids, score))
            if len(alive) == beam:
                break
        finished.sort(key=lambda c: -c[1])
        if not alive or (len(finished) >= beam and alive[0][1] <= finished[beam - 1][1]):
            break  # log-probabilities only fall: no partial caption can still beat the beam-th finished one
    model.train(was_training)
    best = sorted(finished + alive, key=lambda c: -c[1])[:beam]
    return [(decode_ids(vocab, [ids[1:]])[0], score) for ids, score in best]
