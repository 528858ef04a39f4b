"""A fusion classifier written for exporters and for XNNPACK (lesson 09): same weights, same outputs.

    wrapper = ExportableClassifier(model).eval()        # build it AFTER training: it copies a table
    logits = wrapper(images, tokens, lengths)            # == model(images, tokens, lengths)

Two things make a model hard to deploy, and this module answers both.

1. **Python control flow.** The course's `TextEncoder` packs the padded captions
   (`pack_padded_sequence`), which `torch.export` does not follow. Because padding is on
   the right and the LSTM reads left to right, running the LSTM cell over every step of
   the padded caption and keeping each caption's state at its true last word gives
   *exactly* the packed result (`lstm_states`). The loop has a fixed number of steps, so
   the exported graph is that loop unrolled, for captions padded to a fixed width.
2. **Operators the backend lacks.** ExecuTorch hands the operators XNNPACK knows to it and
   runs the others in slower portable kernels; every such operator *between* two XNNPACK
   operators cuts the graph into separately compiled pieces (partitions), each with its own
   inputs, outputs and bookkeeping in the file. So after the lookups (the word embedding,
   the masks made from the lengths) this forward uses only operators XNNPACK has, and the
   rest of the network becomes ONE partition:

   | the model computes            | written here as                          | because XNNPACK has no |
   |-------------------------------|------------------------------------------|------------------------|
   | `grid.amax(dim=(2, 3))`       | `max_pool2d` over the whole grid         | `amax`                 |
   | `a @ b` on 3-d tensors        | `torch.bmm(a, b)`                        | the `expand` that `@` adds |
   | `x.masked_fill(~mask, 0)`     | `x * mask`                               | `where`                |
   | `(q * k).sum(dim=-1)`         | a batched matrix product                 | `sum`                  |
   | `coordinate_grid(h, w)`       | a constant stored in the program         | `linspace`             |
   | `W_ih x_t + b` at every step  | a row of `lstm_input_table`, looked up   | (nothing to compute: see below) |

   The last one is exact algebra, not a substitute: the input half of the LSTM step depends
   only on the word, so it is computed once per vocabulary word, V rows of 4H numbers,
   and looked up like an embedding. The program needs neither W_ih nor a matrix product
   per step; the lookup runs before the XNNPACK partition.

The sentence- and word-evidence fusion of lesson 08's matcher (`WordEvidenceFusion`) is
rewritten this way; other fusions run their own `fuse` (which may leave more partitions).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .models.encoders import BagOfWordsEncoder, ImageEncoder, TextEncoder, length_mask
from .models.fusion import EncodedPair
from .models.matching import WordEvidenceFusion

__all__ = ["ExportableClassifier", "lstm_states", "lstm_input_table", "constant_coordinates"]


def lstm_input_table(embedding: nn.Embedding, lstm: nn.LSTM) -> torch.Tensor:
    """(V, 4H): the LSTM's input pre-activation W_ih e_v + b_ih + b_hh for every word v of the vocabulary.

    Looked up per word, it replaces the input projection of every step exactly. It holds V x 4H
    numbers where W_ih holds E x 4H: smaller while the vocabulary is smaller than the embedding
    width (V = 16 < E = 32 for the shapes task), larger for a real vocabulary.
    """
    _check_lstm(lstm)
    with torch.no_grad():
        return nn.functional.linear(embedding.weight, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)


def _check_lstm(lstm: nn.LSTM) -> None:
    if lstm.num_layers != 1 or lstm.bidirectional or not lstm.batch_first:
        raise ValueError("lstm must be a one-layer, one-directional nn.LSTM with batch_first=True.")


def lstm_states(lstm: nn.LSTM, x: torch.Tensor, inputs: torch.Tensor | None = None) -> torch.Tensor:
    """A one-layer, batch-first nn.LSTM run step by step: x (B, T, E) -> hidden states (B, T, H).

    The cell of lesson 05, with the LSTM's own weights (gates in PyTorch's order i, f, g, o):
    z = (W_ih x_t + b_ih + b_hh) + W_hh h;  c = sigma(f) c + sigma(i) tanh(g);  h = sigma(o) tanh(c).
    inputs (B, T, 4H): the bracket for every step, if it is already known (looked up in
    lstm_input_table); by default it is computed from x, all steps at once.
    """
    _check_lstm(lstm)
    B, T, _ = x.shape
    H = lstm.hidden_size
    if inputs is None:
        inputs = nn.functional.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)  # (B, T, 4H)
    h, c, states = x.new_zeros(B, H), x.new_zeros(B, H), []
    for t in range(T):  # a fixed number of steps: the exported graph is this loop, unrolled
        step = inputs[:, t : t + 1].reshape(B, 4 * H)  # a slice, not inputs[:, t]: XNNPACK has no 'select'
        z = step + nn.functional.linear(h, lstm.weight_hh_l0)  # (B, 4H)
        i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        states.append(h)
    return torch.stack(states, dim=1)


def constant_coordinates(h: int, w: int) -> torch.Tensor:
    """models.layers.coordinate_grid(h, w) flattened to (1, 2, h * w), the layout attention reads; made with NumPy.

    torch.export records torch operations, so torch.linspace (or even a reshape) would become
    part of the graph and run at every call; a tensor made from NumPy values is stored in the
    program as a constant.
    """
    ys = np.linspace(-1, 1, h) if h > 1 else np.zeros(1)
    xs = np.linspace(-1, 1, w) if w > 1 else np.zeros(1)
    y, x = np.meshgrid(ys, xs, indexing="ij")
    return torch.tensor(np.stack([x, y]).reshape(1, 2, h * w), dtype=torch.float32)


class ExportableClassifier(nn.Module):
    """A FusionClassifier's forward written for exporters and XNNPACK (same weights, same outputs).

    forward(images (B, C, H, W) float, tokens (B, T) int64, lengths (B,) int64) -> logits (B, n_classes).
    It shares the model's weights, except `input_table` (lstm_input_table), computed here:
    build the wrapper after training.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        for part in ("image_encoder", "text_encoder", "fusion", "classifier"):
            if not hasattr(model, part):
                raise TypeError(
                    f"model must be a FusionClassifier (from mmcourse.models.build_model), but has no {part!r}."
                )
        if not isinstance(model.text_encoder, (TextEncoder, BagOfWordsEncoder)):
            raise TypeError(f"cannot export a text encoder of type {type(model.text_encoder).__name__}.")
        self.model = model
        if isinstance(model.text_encoder, TextEncoder):
            table = lstm_input_table(model.text_encoder.embedding, model.text_encoder.lstm)
            self.register_buffer("input_table", table)  # (V, 4H)

    def store_table_in_int8(self) -> None:
        """Weight-only int8 for the lookup table, as quantisation does for weights: per row v,
        s_v = max |table[v]| / 127 and q = round(table[v] / s_v), so |table - s q| <= s / 2.

        The int8 rows are looked up and turned back into s_v q in float (`text_features`):
        a quarter of the bytes for the table, the LSTM's arithmetic unchanged. (XNNPACK's
        quantiser quantises what flows into its convolutions and matrix products; a lookup
        it leaves alone, so this one is done by hand.)
        """
        if not hasattr(self, "input_table"):
            raise ValueError("store_table_in_int8 needs an LSTM model: a bag-of-words model has no input table.")
        if self.input_table.dtype == torch.int8:
            return  # already stored in int8
        table = self.input_table.float()
        scale = (table.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12)  # (V, 1)
        self.input_table = torch.round(table / scale).clamp(-127, 127).to(torch.int8)
        self.register_buffer("input_table_scale", scale)

    def image_features(self, images) -> tuple[torch.Tensor, torch.Tensor]:
        """images (B, C, H, W) -> (features (B, Di), grid (B, C', h, w)), as the image encoder computes them."""
        encoder = self.model.image_encoder
        if not isinstance(encoder, ImageEncoder):
            return encoder(images, return_grid=True)
        grid = encoder.features(images)
        if encoder.global_pool == "max":  # the maximum over all positions, as one max-pool
            pooled = nn.functional.max_pool2d(grid, kernel_size=tuple(grid.shape[2:]))
        else:
            pooled = grid.mean(dim=(2, 3), keepdim=True)
        return encoder.project(pooled.flatten(1)), grid

    def text_features(self, tokens, words, lengths) -> torch.Tensor:
        """tokens (B, T), words (B, T, E) embedded, lengths (B,) -> (B, Dt), as the model's text encoder computes it."""
        B, T = tokens.shape
        if isinstance(self.model.text_encoder, TextEncoder):
            lstm = self.model.text_encoder.lstm
            inputs = nn.functional.embedding(tokens, self.input_table)  # (B, T, 4H): W_ih x_t + b, looked up
            if self.input_table.dtype == torch.int8:  # store_table_in_int8: s_v q, with each word's scale
                inputs = inputs.to(words.dtype) * nn.functional.embedding(tokens, self.input_table_scale)
            states = lstm_states(lstm, words, inputs)  # (B, T, H)
            last = (torch.arange(T)[None, :] == lengths[:, None] - 1).to(states.dtype)  # (B, T): one-hot
            # the state at the last real word: (B, 1, T) @ (B, T, H)
            return torch.bmm(last[:, None, :], states).reshape(B, lstm.hidden_size)
        mask = length_mask(lengths, T).unsqueeze(-1).to(words.dtype)  # (B, T, 1)
        return (words * mask).sum(dim=1) / lengths.unsqueeze(-1).to(words.dtype)

    def forward(self, images, tokens, lengths):
        """The classifier's own encode -> fuse -> classify, each part written as above."""
        model = self.model
        image, grid = self.image_features(images)
        words = model.text_encoder.embedding(tokens)  # (B, T, E)
        mask = length_mask(lengths, tokens.shape[1])  # (B, T), True at real words
        pair = EncodedPair(image, self.text_features(tokens, words, lengths), grid, words, mask)
        if isinstance(model.fusion, WordEvidenceFusion):
            return model.classifier(word_evidence_fusion(model.fusion, pair))
        return model.classifier(model.fusion.fuse(pair))


def word_evidence_fusion(fusion: WordEvidenceFusion, pair: EncodedPair) -> torch.Tensor:
    """WordEvidenceFusion.fuse(pair) (B, hidden_dim), with operators XNNPACK has (see the module's table)."""
    B, C, h, w = pair.grid.shape
    heads, d = fusion.heads, fusion.key_dim
    # sentence level: attention over the grid, and each head's best raw score (EvidenceAttentionFusion)
    coordinates = constant_coordinates(h, w).expand(B, 2, h * w)
    values = torch.cat([pair.grid.reshape(B, C, h * w), coordinates], dim=1)  # (B, C + 2, hw)
    values = values.permute(0, 2, 1)  # (B, hw, C + 2)
    keys = fusion.keys(values)  # (B, hw, d)
    queries = fusion.queries(pair.text).reshape(B, heads, d)
    scores = torch.bmm(queries, keys.permute(0, 2, 1)) / d**0.5  # (B, heads, hw)
    attended = torch.bmm(torch.softmax(scores, dim=2), values).reshape(B, heads * (C + 2))
    evidence = nn.functional.max_pool2d(scores.reshape(B, heads, 1, h * w), kernel_size=(1, h * w))
    evidence = evidence.reshape(B, heads)  # the best raw score of each head
    sentence = torch.cat([pair.text, attended, evidence], dim=1)
    # word level: a bilinear score between every word and the image, zero at padding
    T, m = pair.words.shape[1], fusion.word_heads
    word_keys = fusion.word_keys(pair.image).reshape(B * m, d, 1)
    word_queries = fusion.word_queries(pair.words).reshape(B, T, m, d).permute(0, 2, 1, 3)  # (B, m, T, d)
    word_queries = word_queries.reshape(B * m, T, d)
    scores = torch.bmm(word_queries, word_keys).reshape(B, m, T).permute(0, 2, 1) / d**0.5  # (B, T, m)
    word = (scores + fusion.word_offset(pair.words)) * pair.mask[:, :, None].to(scores.dtype)
    word = nn.functional.pad(word, (0, 0, 0, fusion.max_words - T)).reshape(B, fusion.max_words * m)
    return fusion.mlp(torch.cat([sentence, word], dim=1))
