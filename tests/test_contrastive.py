"""Lesson 11's contrastive alignment: InfoNCE against the textbook sum, recall@k against a brute-force ranking,
the dual encoder "clip", and contrastive training end to end (fit_contrastive, train_model, the CLI)."""

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmcourse.checkpoint import load_checkpoint
from mmcourse.cli import main as cli_main
from mmcourse.config import TrainConfig
from mmcourse.data import TensorBatches, caption_meanings, make_shapes, order_twins
from mmcourse.metrics import recall_at_k
from mmcourse.models import MODELS, build_model, model_names
from mmcourse.models.contrastive import (
    CLIP_DEFAULTS,
    DotProductFusion,
    build_dual_encoder,
    embed_images,
    embed_texts,
    info_nce,
    similarity_matrix,
)
from mmcourse.tasks import load_task, train_model
from mmcourse.train import contrastive_step, contrastive_tensors, fit_contrastive, retrieval_metrics

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# --- references, written the textbook way ------------------------------------------------------------------------


def _reference_info_nce(image, text, temperature, positive=None, hard=None):
    """Symmetric InfoNCE one term at a time: -log(exp(s_ii / tau) / sum over the candidates of exp(s / tau)).

    The candidates of image i are caption i, every caption j that is NOT another positive of image i,
    and every hard negative; those of caption j are image j and every image i for which caption j is not
    another positive. Torch ops throughout, so that gradients can be compared too.
    """
    image = image / image.norm(dim=1, keepdim=True)
    text = text / text.norm(dim=1, keepdim=True)
    B = len(image)
    positive = torch.eye(B, dtype=torch.bool) if positive is None else torch.as_tensor(positive)
    hard = [] if hard is None else hard / hard.norm(dim=1, keepdim=True)

    def score(a, b):
        return (a * b).sum() / temperature

    image_terms, text_terms = [], []
    for i in range(B):
        candidates = [score(image[i], text[j]) for j in range(B) if j == i or not positive[i, j]]
        candidates += [score(image[i], h) for h in hard]
        image_terms.append(torch.stack(candidates).exp().sum().log() - score(image[i], text[i]))
    for j in range(B):
        candidates = [score(image[i], text[j]) for i in range(B) if i == j or not positive[i, j]]
        text_terms.append(torch.stack(candidates).exp().sum().log() - score(image[j], text[j]))
    return (torch.stack(image_terms).mean() + torch.stack(text_terms).mean()) / 2


def _clip_loss(image, text, logit_scale):
    """open_clip's ClipLoss (no gathering across GPUs)."""
    image, text = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    logits_per_image = logit_scale * image @ text.T
    logits_per_text = logit_scale * text @ image.T
    labels = torch.arange(len(image))
    return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2


def _embeddings(B, D, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, D, generator=g, dtype=dtype), torch.randn(B, D, generator=g, dtype=dtype)


def _random_positive(B, seed, p=0.3):
    g = torch.Generator().manual_seed(seed)
    positive = torch.rand(B, B, generator=g) < p  # NOT symmetric: the two directions must read it differently
    return positive | torch.eye(B, dtype=torch.bool)


def _close(actual, expected, tol=1e-6):
    """Equal up to rounding: a Python-float temperature becomes a float32 tensor inside info_nce (~1e-8 relative)."""
    torch.testing.assert_close(actual, expected, atol=tol, rtol=tol)


# --- info_nce -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "B, D, temperature, seed", [(2, 3, 1.0, 0), (5, 4, 0.07, 1), (8, 16, 0.3, 2), (1, 5, 0.5, 3)]
)
def test_info_nce_equals_open_clips_formula_and_the_textbook_sum(B, D, temperature, seed):
    image, text = _embeddings(B, D, seed)
    loss = info_nce(image, text, temperature)
    assert loss.dim() == 0
    _close(loss, _clip_loss(image, text, 1 / temperature))
    _close(loss, _reference_info_nce(image, text, temperature))
    assert not torch.allclose(loss, info_nce(image, text.flip(0), temperature)) or B == 1  # pairing matters


def test_info_nce_normalises_each_row_itself():
    image, text = _embeddings(6, 5, seed=4)
    g = torch.Generator().manual_seed(5)
    scale_image = torch.rand(6, 1, generator=g, dtype=torch.float64) * 10 + 0.1
    scale_text = torch.rand(6, 1, generator=g, dtype=torch.float64) * 10 + 0.1
    _close(info_nce(image * scale_image, text * scale_text, 0.1), info_nce(image, text, 0.1))
    flipped = image.clone()
    flipped[0] *= -1  # a change of direction is not a change of length: the loss must see it
    assert not torch.allclose(info_nce(flipped, text, 0.1), info_nce(image, text, 0.1))


def test_info_nce_is_symmetric_in_the_two_modalities():
    image, text = _embeddings(7, 4, seed=6)
    positive = _random_positive(7, seed=7)
    _close(info_nce(image, text, 0.2), info_nce(text, image, 0.2))
    _close(info_nce(image, text, 0.2, positive), info_nce(text, image, 0.2, positive.T))


def test_false_negatives_leave_both_denominators():
    image, text = _embeddings(6, 4, seed=8)
    positive = _random_positive(6, seed=9)
    assert (positive & ~torch.eye(6, dtype=torch.bool)).sum() >= 3 and not torch.equal(positive, positive.T)
    masked = info_nce(image, text, 0.25, positive)
    _close(masked, _reference_info_nce(image, text, 0.25, positive))
    assert not torch.allclose(masked, info_nce(image, text, 0.25))
    _close(info_nce(image, text, 0.25, positive.numpy()), masked)  # NumPy masks are accepted too
    _close(info_nce(image, text, 0.25, torch.eye(6, dtype=torch.bool)), info_nce(image, text, 0.25))


def test_masking_by_hand_for_three_pairs():
    # captions 0 and 1 state the same fact, so each is also true of the other's image
    image, text = _embeddings(3, 2, seed=10)
    tau = 0.5
    s = (F.normalize(image, dim=1) @ F.normalize(text, dim=1).T / tau).tolist()
    e = [[math.exp(v) for v in row] for row in s]
    image_terms = [
        -math.log(e[0][0] / (e[0][0] + e[0][2])),  # caption 1 is not a negative of image 0
        -math.log(e[1][1] / (e[1][1] + e[1][2])),  # nor caption 0 of image 1
        -math.log(e[2][2] / (e[2][0] + e[2][1] + e[2][2])),
    ]
    text_terms = [
        -math.log(e[0][0] / (e[0][0] + e[2][0])),
        -math.log(e[1][1] / (e[1][1] + e[2][1])),
        -math.log(e[2][2] / (e[0][2] + e[1][2] + e[2][2])),
    ]
    expected = (sum(image_terms) / 3 + sum(text_terms) / 3) / 2
    positive = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    assert info_nce(image, text, tau, positive).item() == pytest.approx(expected, abs=1e-12)


def test_perfect_alignment_reaches_the_floor_and_tends_to_zero_as_tau_shrinks():
    # B = 2, antipodal: each image's own caption has cosine 1, the other cosine -1
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    B = 2
    floor = math.log(1 + (B - 1) * math.exp(-2))
    assert info_nce(z, z, 1.0).item() == pytest.approx(floor, abs=1e-12)
    for tau in (1.0, 0.5, 0.1):  # ln(1 + e^(-2 / tau)), in closed form, at every temperature
        assert info_nce(z, z, tau).item() == pytest.approx(math.log1p(math.exp(-2 / tau)), rel=1e-6)
    losses = [info_nce(z, z, tau).item() for tau in (1.0, 0.3, 0.1, 0.03, 0.01)]
    assert losses[0] > losses[1] > losses[2] > 0 and losses[2] < 1e-8  # e^(-20): rounding takes the rest to 0
    assert all(0 <= b <= a for a, b in zip(losses, losses[1:])) and losses[-1] < 1e-12
    # B = 4 on a tetrahedron: negatives at cosine -1/3, the floor ln(1 + 3 e^(-(1 + 1/3) / tau))
    tetra = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    for tau in (1.0, 0.2):
        floor = math.log1p(3 * math.exp(-4 / 3 / tau))
        assert info_nce(tetra, tetra, tau).item() == pytest.approx(floor, rel=1e-6)


def test_an_untrained_constant_embedding_gives_log_b():
    for B in (2, 5, 32):
        image = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=torch.float64).repeat(B, 1)
        text = torch.full((B, 4), 3.0, dtype=torch.float64)
        for tau in (0.07, 1.0):
            assert info_nce(image, text, tau).item() == pytest.approx(math.log(B), abs=1e-12)
    # with false negatives masked, each query picks among fewer candidates: ln(their number)
    positive = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=torch.bool)
    rows, columns = (4 - positive.sum(1) + 1).double().log(), (4 - positive.sum(0) + 1).double().log()
    expected = (rows.mean() + columns.mean()) / 2
    _close(info_nce(torch.ones(4, 3), torch.ones(4, 3), 0.1, positive), expected.float(), tol=1e-6)


def test_gradients_reach_a_learned_temperature_and_the_embeddings():
    image, text = _embeddings(5, 3, seed=11)
    positive = _random_positive(5, seed=12)
    hard = _embeddings(2, 3, seed=13)[0]
    leaves = {}
    for name in ("ours", "reference"):
        tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        a, b = image.clone().requires_grad_(), text.clone().requires_grad_()
        loss = (info_nce if name == "ours" else _reference_info_nce)(a, b, tau, positive, hard)
        loss.backward()
        leaves[name] = (tau.grad, a.grad, b.grad)
    assert leaves["ours"][0] != 0
    for ours, reference in zip(*leaves.values()):
        _close(ours, reference)
    fusion = DotProductFusion(3, 3, joint_dim=3)
    info_nce(image.float(), text.float(), fusion.temperature).backward()
    assert fusion.log_scale.grad is not None and fusion.log_scale.grad != 0


def test_hard_negatives_join_the_image_to_text_direction_only():
    image, text = _embeddings(4, 5, seed=14)
    hard = _embeddings(3, 5, seed=15)[0]
    positive = _random_positive(4, seed=16)
    for mask in (None, positive):
        with_hard = info_nce(image, text, 0.2, mask, hard)
        _close(with_hard, _reference_info_nce(image, text, 0.2, mask, hard))
        assert with_hard > info_nce(image, text, 0.2, mask)  # more candidates to lose to
    # only the image -> text half changes: compare with the one-directional cross-entropies
    z_image, z_text, z_hard = (F.normalize(x, dim=1) for x in (image, text, hard))
    logits = z_image @ z_text.T / 0.2
    targets = torch.arange(4)
    image_half = F.cross_entropy(torch.cat([logits, z_image @ z_hard.T / 0.2], dim=1), targets)
    text_half = F.cross_entropy(logits.T, targets)  # the hard negatives are no candidate images
    _close(info_nce(image, text, 0.2, hard_negatives=hard), (image_half + text_half) / 2)


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (lambda a, b: info_nce(a[:3], b, 0.1), ValueError, r"image_emb and text_emb must have the same shape"),
        (lambda a, b: info_nce(a, b[:, :3], 0.1), ValueError, r"image_emb and text_emb must have the same shape"),
        (lambda a, b: info_nce(a[0], b[0], 0.1), ValueError, r"image_emb must be a float tensor \(B, D\)"),
        (lambda a, b: info_nce(a, b[0], 0.1), ValueError, r"text_emb must be a float tensor \(B, D\)"),
        (lambda a, b: info_nce(a.long(), b, 0.1), ValueError, r"image_emb must be a float tensor"),
        (lambda a, b: info_nce(a.numpy(), b, 0.1), ValueError, r"image_emb must be a float tensor"),
        (lambda a, b: info_nce(a, b, 0.1, torch.eye(4)), ValueError, r"positive must be a bool tensor of shape \(4, 4\)"),
        (lambda a, b: info_nce(a, b, 0.1, torch.ones(4, 5, dtype=torch.bool)), ValueError,
         r"positive must be a bool tensor of shape \(4, 4\)"),
        (lambda a, b: info_nce(a, b, 0.1, torch.zeros(4, 4, dtype=torch.bool)), ValueError,
         "positive must be True on its diagonal"),
        (lambda a, b: info_nce(a, b, 0.0), ValueError, "temperature must be one positive number"),
        (lambda a, b: info_nce(a, b, -0.5), ValueError, "temperature must be one positive number"),
        (lambda a, b: info_nce(a, b, float("nan")), ValueError, "temperature must be one positive number"),
        (lambda a, b: info_nce(a, b, torch.tensor(-1.0)), ValueError, "temperature must be one positive number"),
        (lambda a, b: info_nce(a, b, torch.tensor([0.1, 0.2])), ValueError, "temperature must be one positive"),
        (lambda a, b: info_nce(a, b, "0.1"), TypeError, "temperature must be a positive number"),
        (lambda a, b: info_nce(a, b, True), TypeError, "temperature must be a positive number"),
        (lambda a, b: info_nce(a, b, 0.1, hard_negatives=torch.randn(2, 3)), ValueError,
         "hard_negatives must have 5 columns"),
        (lambda a, b: info_nce(a, b, 0.1, hard_negatives=torch.randn(5)), ValueError,
         r"hard_negatives must be a float tensor \(B, D\)"),
    ],
)  # fmt: skip
def test_bad_arguments_to_info_nce_are_named(call, error, fragment):
    image, text = _embeddings(4, 5, seed=17, dtype=torch.float32)
    with pytest.raises(error, match=fragment):
        call(image, text)


# --- recall_at_k --------------------------------------------------------------------------------------------------


def _reference_recall(scores, k, positive):
    """Sort each row's candidates best first -- a wrong one before a right one when they tie -- and look at k."""
    found = []
    for row, right in zip(np.asarray(scores, dtype=np.float64), np.asarray(positive)):
        order = sorted(range(len(row)), key=lambda j: (-row[j], bool(right[j])))
        found.append(any(right[j] for j in order[:k]))
    return float(np.mean(found))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("shape, with_positive, integers, seed",
                         [((8, 8), False, False, 0), ((8, 8), True, False, 1), ((6, 11), True, False, 2),
                          ((12, 5), True, True, 3), ((10, 10), False, True, 4), ((30, 30), True, True, 5)])  # fmt: skip
def test_recall_at_k_equals_a_brute_force_ranking(kind, shape, with_positive, integers, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(-2, 3, size=shape).astype(np.float64) if integers else rng.normal(size=shape)  # fmt: skip
    positive = None
    if with_positive:
        positive = rng.random(shape) < 0.2
        positive[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = True  # every row needs one
    expected_mask = np.eye(*shape, dtype=bool) if positive is None else positive
    given = (scores, positive)
    if kind == "torch":
        given = (torch.tensor(scores), None if positive is None else torch.tensor(positive))
    results = []
    for k in range(1, shape[1] + 1):
        ours = recall_at_k(given[0], k, given[1])
        assert ours == pytest.approx(_reference_recall(scores, k, expected_mask), abs=1e-12), k
        results.append(ours)
    assert all(a <= b for a, b in zip(results, results[1:])) and results[-1] == 1.0
    assert results[0] < 1.0  # random scores: the check can fail


def test_ties_count_against_the_query():
    constant = np.full((5, 5), 0.3)
    assert [recall_at_k(constant, k) for k in range(1, 6)] == [0.0, 0.0, 0.0, 0.0, 1.0]
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.5, 0.5, 0.5]])
    # row 0: its positive ties one rival (found at k = 2); row 1: found at once; row 2: ties both rivals (k = 3)
    assert [recall_at_k(scores, k) for k in (1, 2, 3)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    # a second positive in the tie is no rival
    positive = np.eye(3, dtype=bool)
    positive[0, 1] = True
    assert recall_at_k(scores, 1, positive) == pytest.approx(2 / 3)
    tensor = torch.tensor(scores, dtype=torch.float32, requires_grad=True)
    assert recall_at_k(tensor, 1) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: recall_at_k(np.eye(4), 0), r"k must be an integer in \[1, 4\]"),
        (lambda: recall_at_k(np.eye(4), 5), r"k must be an integer in \[1, 4\]"),
        (lambda: recall_at_k(np.eye(4), 1.5), r"k must be an integer in \[1, 4\]"),
        (lambda: recall_at_k(np.eye(4), True), r"k must be an integer in \[1, 4\]"),
        (lambda: recall_at_k(np.zeros((3, 4)), 1), "not square: pass positive"),
        (lambda: recall_at_k(np.zeros(4), 1), r"similarity must be a \(queries, candidates\) matrix"),
        (lambda: recall_at_k(np.zeros((0, 3)), 1), r"similarity must be a \(queries, candidates\) matrix"),
        (lambda: recall_at_k(np.zeros((3, 3)), 1, np.eye(3, 4, dtype=bool)), r"positive must be a bool array of "
         r"shape \(3, 3\)"),
        (lambda: recall_at_k(np.zeros((3, 3)), 1, np.eye(3)), "positive must be a bool array"),
        (lambda: recall_at_k(np.zeros((3, 3)), 1, np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]], dtype=bool)),
         "query 1 has no positive candidate"),
    ],
)  # fmt: skip
def test_bad_arguments_to_recall_at_k_are_named(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


# --- the dual encoder "clip" --------------------------------------------------------------------------------------

VOCAB = 20
SMALL = {"vocab_size": VOCAB, "image_channels": [4, 8], "image_dim": 12, "embed_dim": 6, "text_dim": 10,
         "joint_dim": 7}  # fmt: skip


def _pairs(B=5, seed=0, T=6):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(B, 3, 16, 16, generator=g)
    lengths = torch.tensor([6, 3, 1, 4, 2, 5, 6, 2])[:B]
    tokens = torch.randint(2, VOCAB, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return images, tokens, lengths


def _clip(**settings):
    torch.manual_seed(0)
    return build_model("clip", **{**SMALL, **settings}).eval()


def test_clip_is_in_the_zoo_and_classifies_pairs():
    assert "clip" in model_names() and "dual encoder" in MODELS["clip"]
    torch.manual_seed(0)
    model = build_model("clip", vocab_size=VOCAB).eval()
    assert isinstance(model.fusion, DotProductFusion) and model.config == {"name": "clip", **CLIP_DEFAULTS,
                                                                           "vocab_size": VOCAB}  # fmt: skip
    with torch.no_grad():
        logits = model(*_pairs())
    assert logits.shape == (5, 2) and torch.isfinite(logits).all()
    again = build_model(**model.config)  # config rebuilds the same model
    again.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(*_pairs()), logits)


def test_embeddings_are_unit_vectors_and_the_matrix_holds_every_pair_score():
    model = _clip()
    images, tokens, lengths = _pairs(B=6)
    with torch.no_grad():
        z_image, z_text = embed_images(model, images), embed_texts(model, tokens, lengths)
        similarity = similarity_matrix(model, images, tokens, lengths)
        # every (image i, caption j) pair through the model's own forward pass: the pair score of the fusion
        every_pair = model.features(images.repeat_interleave(6, 0), tokens.repeat(6, 1), lengths.repeat(6))
        diagonal = model.fusion(model.image_encoder(images), model.text_encoder(tokens, lengths))
    assert z_image.shape == z_text.shape == (6, 7)
    torch.testing.assert_close(z_image.norm(dim=1), torch.ones(6))
    torch.testing.assert_close(z_text.norm(dim=1), torch.ones(6))
    assert similarity.shape == (6, 6)
    torch.testing.assert_close(similarity, model.fusion.logit_scale * z_image @ z_text.T)
    torch.testing.assert_close(similarity.diagonal(), diagonal.squeeze(1))
    torch.testing.assert_close(similarity, every_pair.reshape(6, 6), atol=1e-5, rtol=1e-5)
    assert similarity.abs().max() <= model.fusion.logit_scale + 1e-4
    assert not torch.allclose(similarity, similarity.T)
    with torch.no_grad():  # non-square: 3 images against 6 captions
        torch.testing.assert_close(similarity_matrix(model, images[:3], tokens, lengths), similarity[:3])


def test_a_fixed_temperature_is_a_buffer_and_a_learned_one_is_clamped():
    fixed = _clip(temperature=0.005, learn_temperature=False).fusion
    assert "log_scale" in dict(fixed.named_buffers()) and "log_scale" not in dict(fixed.named_parameters())
    assert fixed.temperature.item() == pytest.approx(0.005) and fixed.logit_scale.item() == pytest.approx(200)
    learned = _clip().fusion
    assert "log_scale" in dict(learned.named_parameters())
    assert learned.temperature.item() == pytest.approx(0.07)
    assert learned.logit_scale.item() == pytest.approx(1 / 0.07)
    with torch.no_grad():
        learned.log_scale.fill_(math.log(1000.0))
    assert learned.logit_scale.item() == pytest.approx(100.0)
    assert learned.temperature.item() == pytest.approx(0.01)
    learned.logit_scale.backward()
    assert learned.log_scale.grad.item() == 0  # past the clamp nothing passes
    with torch.no_grad():
        learned.log_scale.fill_(math.log(20.0))
    learned.log_scale.grad = None
    learned.logit_scale.backward()
    assert learned.log_scale.grad.item() == pytest.approx(20.0)  # d exp(s) / ds below the clamp
    fixed_again = _clip(temperature=0.5, learn_temperature=False)
    assert "fusion.log_scale" in fixed_again.state_dict()  # a buffer is saved with the weights


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"temperature": 0}, "temperature must be a positive number"),
        ({"temperature": -0.1}, "temperature must be a positive number"),
        ({"temperature": float("nan")}, "temperature must be a positive number"),
        ({"temperature": 0.005}, "a learned temperature starts at 0.01 or above"),
        ({"hidden_dim": 8}, r"unknown setting\(s\) \['hidden_dim'\] for the dual encoder 'clip'.*joint_dim"),
    ],
)
def test_bad_clip_settings_are_named(settings, fragment):
    with pytest.raises(ValueError, match=fragment):
        build_model("clip", **settings)


def test_only_a_dual_encoder_embeds_apart():
    with pytest.raises(ValueError, match="builds the model 'clip', not 'early'"):
        build_dual_encoder("early")
    torch.manual_seed(0)
    early = build_model("early", vocab_size=VOCAB)
    images, tokens, lengths = _pairs()
    with pytest.raises(TypeError, match="DotProductFusion, but got FusionClassifier with fusion EarlyFusion"):
        embed_images(early, images)
    with pytest.raises(TypeError, match="fusion EarlyFusion"):
        embed_texts(early, tokens, lengths)
    with pytest.raises(TypeError, match="fusion NoneType"):
        similarity_matrix(torch.nn.Linear(2, 2), images, tokens, lengths)


# --- training -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_pairs():
    data = load_task("shapes-contrastive", n_train=600, seed=0)
    vocab = data["vocab"]
    return {
        "data": data,
        "train": contrastive_tensors(data["train"], vocab),
        "held_out": tuple(t[:300] for t in contrastive_tensors(data["test"], vocab)),
    }


def test_contrastive_tensors_hold_the_pairs_their_meanings_and_twins(shapes_pairs):
    data, tensors = shapes_pairs["data"], shapes_pairs["train"]
    vocab, train = data["vocab"], data["train"]
    images, tokens, lengths, meaning, swapped, swapped_lengths, reversed_, reversed_lengths = tensors
    assert len({len(t) for t in tensors}) == 1 and len(images) == 600 and images.dtype == torch.float32
    assert torch.equal(images, torch.as_tensor(train.images))
    assert np.array_equal(meaning.numpy(), caption_meanings(train.captions))
    twins = order_twins(train.captions)
    assert vocab.decode(tokens, lengths) == list(train.captions)
    assert vocab.decode(swapped, swapped_lengths) == twins[0]
    assert vocab.decode(reversed_, reversed_lengths) == twins[1]
    assert torch.equal(lengths, swapped_lengths) and torch.equal(lengths, reversed_lengths)
    assert swapped.shape == reversed_.shape == tokens.shape
    with pytest.raises(ValueError, match="true pairs only.*mismatches"):
        contrastive_tensors(make_shapes(20, seed=0, image_size=16), vocab)
    with pytest.raises(TypeError, match="data must be a MultimodalData"):
        contrastive_tensors({"images": images}, vocab)


def _fit(shapes_pairs, **options):
    torch.manual_seed(0)
    model = build_model("clip", **shapes_pairs["data"]["model_config"])
    batches = TensorBatches(*shapes_pairs["train"], batch_size=32, seed=0)
    history = fit_contrastive(
        model, batches, shapes_pairs["held_out"], epochs=2, lr=3e-3, device="cpu", **options
    )
    return model, history


@pytest.fixture(scope="module")
def trained(shapes_pairs):
    """A dual encoder after 2 epochs on 600 pairs, and how the same model did before training."""
    before = torch.get_num_threads()
    torch.set_num_threads(
        1
    )  # as one_thread does for the tests: a run repeats exactly only on as many threads
    torch.manual_seed(0)
    untrained = retrieval_metrics(
        build_model("clip", **shapes_pairs["data"]["model_config"]), shapes_pairs["held_out"]
    )
    model, history = _fit(shapes_pairs)
    torch.set_num_threads(before)
    return {"model": model, "history": history, "untrained": untrained}


def test_fit_contrastive_learns_to_retrieve_and_repeats_exactly(shapes_pairs, trained):
    history, untrained = trained["history"], trained["untrained"]
    assert history["train_loss"][-1] < history["train_loss"][0] < math.log(32) + 0.5
    assert history["train_accuracy"][-1] > history["train_accuracy"][0]
    _, again = _fit(shapes_pairs)
    assert again["train_loss"] == history["train_loss"] and again["val_accuracy"] == history["val_accuracy"]
    after = retrieval_metrics(trained["model"], shapes_pairs["held_out"])
    assert history["val_accuracy"][-1] == after["image_to_text_r1"] and len(history["val_accuracy"]) == 2
    assert untrained["image_to_text_r5"] < 0.1 and untrained["text_to_image_r5"] < 0.1  # about 5 / 300
    assert after["image_to_text_r5"] > untrained["image_to_text_r5"] + 0.15
    assert after["text_to_image_r5"] > untrained["text_to_image_r5"] + 0.15
    assert after["image_to_text_r1"] <= after["image_to_text_r5"] <= after["image_to_text_r10"]
    assert after["temperature"] != pytest.approx(0.07, abs=1e-6)  # the temperature was learned


def test_retrieval_metrics_are_recall_at_k_of_the_embeddings(shapes_pairs, trained):
    held_out = tuple(t[:120] for t in shapes_pairs["held_out"])
    model = copy.deepcopy(trained["model"]).train()
    result = retrieval_metrics(model, held_out, ks=(1, 5, 200))
    assert model.training  # put back in the mode it was in
    images, tokens, lengths, meaning, swapped, swapped_lengths, reversed_, reversed_lengths = held_out
    model.eval()
    with torch.no_grad():
        z_image, z_text = embed_images(model, images), embed_texts(model, tokens, lengths)
        own = (z_image * z_text).sum(1)
        twins = {"swapped": embed_texts(model, swapped, swapped_lengths),
                 "reversed": embed_texts(model, reversed_, reversed_lengths)}  # fmt: skip
    positive = (meaning[:, None] == meaning[None, :]).numpy()
    similarity = (z_image @ z_text.T).numpy()
    assert set(result) == {"image_to_text_r1", "text_to_image_r1", "image_to_text_r5", "text_to_image_r5",
                           "swapped_accuracy", "reversed_accuracy", "temperature"}  # k = 200 > 120 is left out  # fmt: skip
    for k in (1, 5):
        assert result[f"image_to_text_r{k}"] == _reference_recall(similarity, k, positive)
        assert result[f"text_to_image_r{k}"] == _reference_recall(similarity.T, k, positive.T)
    assert result["image_to_text_r5"] != result["text_to_image_r5"]  # so the two directions are told apart
    for name, twin in twins.items():
        assert result[f"{name}_accuracy"] == pytest.approx(
            float((own > (z_image * twin).sum(1)).float().mean())
        )
    assert result["temperature"] == pytest.approx(model.fusion.temperature.item())


def test_one_step_and_its_options(shapes_pairs):
    torch.manual_seed(0)
    model = build_model("clip", **shapes_pairs["data"]["model_config"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = tuple(t[:32] for t in shapes_pairs["train"])
    loss, accuracy = contrastive_step(model, optimizer, batch)
    assert loss.dim() == 0 and not loss.requires_grad and 0 <= accuracy <= 1
    assert loss.item() == pytest.approx(math.log(32), abs=1.0)  # untrained: about ln B
    assert not torch.equal(before["fusion.log_scale"], model.state_dict()["fusion.log_scale"])
    after = model.state_dict()["fusion.image_projection.weight"]
    assert not torch.equal(before["fusion.image_projection.weight"], after)
    for share in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"hard_negatives must be a share in \[0, 1\]"):
            fit_contrastive(model, TensorBatches(*batch), epochs=1, lr=1e-3, hard_negatives=share)
    with pytest.raises(TypeError, match="channels_last must be True or False"):
        fit_contrastive(model, TensorBatches(*batch), epochs=1, lr=1e-3, channels_last="auto")


def test_hard_negatives_and_the_mask_change_training_and_repeat(shapes_pairs):
    train = tuple(t[:192] for t in shapes_pairs["train"])
    runs = {"plain": {}, "hard": {"hard_negatives": 0.5}, "hard again": {"hard_negatives": 0.5},
            "unmasked": {"mask_false_negatives": False}, "hard, seed 1": {"hard_negatives": 0.5, "seed": 1},
            "plain, seed 1": {"seed": 1}}  # fmt: skip
    losses = {}
    for name, options in runs.items():
        torch.manual_seed(0)
        model = build_model("clip", **shapes_pairs["data"]["model_config"])
        batches = TensorBatches(*train, batch_size=64, seed=0)
        losses[name] = fit_contrastive(model, batches, epochs=1, lr=3e-3, device="cpu", **options)[
            "train_loss"
        ]
    assert losses["hard"] == losses["hard again"]  # the twins' draws are seeded ...
    assert (
        losses["hard, seed 1"] != losses["hard"] and losses["plain, seed 1"] == losses["plain"]
    )  # ... by `seed`
    assert losses["hard"][0] > losses["plain"][0]  # more candidates to lose to
    assert losses["unmasked"] != losses["plain"]


RETRIEVAL_KEYS = {f"test_{d}_r{k}" for d in ("image_to_text", "text_to_image") for k in (1, 5, 10)} | {
    "test_swapped_accuracy", "test_reversed_accuracy", "test_temperature", "val_image_to_text_r1"}  # fmt: skip


def test_train_model_writes_retrieval_figures_and_a_loadable_checkpoint(tmp_path):
    data = load_task("shapes-contrastive", n_train=300, seed=0)
    _, metrics = train_model("shapes-contrastive", epochs=1, n_train=300, data=data, device="cpu", progress=False,
                             out=tmp_path)  # fmt: skip
    recorded = json.loads((tmp_path / "metrics.json").read_text())
    assert RETRIEVAL_KEYS <= set(recorded) and "test_accuracy" not in recorded
    assert (recorded["model"], recorded["task"], recorded["epochs"], recorded["n_train"]) == (
        "clip", "shapes-contrastive", 1, 300)  # fmt: skip
    assert all(0 <= recorded[key] <= 1 for key in RETRIEVAL_KEYS - {"test_temperature"})
    assert TrainConfig.from_dict(recorded) == TrainConfig.from_dict(metrics)
    assert len(recorded["history"]["train_loss"]) == 1
    raw = torch.load(tmp_path / "model.pt", weights_only=True)
    assert raw["config"]["name"] == "clip" and raw["task"] == "shapes-contrastive"
    model, vocab, checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert checkpoint["metrics"]["test_image_to_text_r1"] == recorded["test_image_to_text_r1"]
    again = retrieval_metrics(model, contrastive_tensors(data["test"], vocab))
    for name, value in again.items():
        assert value == pytest.approx(recorded[f"test_{name}"], abs=1e-6), name


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: train_model("shapes-contrastive", "matcher"), "model 'matcher' scores pairs and cannot"),
        (lambda: train_model("shapes-contrastive", "early", epochs=1), "model 'early' scores pairs"),
        (lambda: train_model("shapes-contrastive", cooldown=2), "cooldown=2 is not available for the contrastive task"),
        (lambda: train_model("shapes-contrastive", patience=2), "patience=2 is not available"),
        (lambda: train_model("shapes-contrastive", target=0.9), "target=0.9 is not available"),
        (lambda: train_model("shapes-contrastive", compile=True), "compile=True is not available"),
        (lambda: train_model("digits-arithmetic", "clip"), "'clip' is a dual encoder"),
        (lambda: train_model("shapes-contrastive", negatives=1.5), r"negatives must be a rate in \[0, 1\]"),
        (lambda: train_model("shapes-contrastive", n_train=8, epochs=1, progress=False, device="cpu",
                             train_transform=lambda b: b), "train_transform are not available"),
    ],
)  # fmt: skip
def test_options_a_contrastive_run_cannot_honour_are_named(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--task", "shapes-contrastive", "--model", "matcher"], "model 'matcher' scores pairs and cannot"),
        (["--task", "shapes-contrastive", "--patience", "2"], "patience=2 is not available"),
    ],
)
def test_cli_rejects_a_contrastive_run_it_cannot_do_in_one_line(args, fragment, capsys):
    assert cli_main(["train", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmcourse train: error:"), captured.err
    assert fragment in lines[0] and "Traceback" not in captured.err and captured.out == ""


def test_cli_trains_the_dual_encoder_and_prints_its_retrieval_figures(tmp_path, capsys):
    code = cli_main(["train", "--task", "shapes-contrastive", "--epochs", "1", "--n-train", "64", "--device", "cpu",
                     "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == "clip" and RETRIEVAL_KEYS <= set(summary) and "history" not in summary
    recorded = json.loads((tmp_path / "metrics.json").read_text())
    assert recorded["test_image_to_text_r5"] == summary["test_image_to_text_r5"]
