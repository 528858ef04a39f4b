"""PyTorch models of the course, one module per kind of model, listed here lesson by lesson.

    from mmcourse.models import build_model, ImageEncoder, EarlyFusion

Where each name lives: `encoders` (lessons 04-05), `layers`, `fusion` and `classifier`
(lesson 07), `matching` (lesson 08), `transformer` (lesson 10), `contrastive` (lesson 11), `captioner` (lesson 12),
`zoo` (every model by name). Nothing here imports in a circle: layers <- fusion <- classifier <- matching, transformer, contrastive <- zoo.
"""

# isort: off
# lessons 04-05: unimodal encoders
from .encoders import BagOfWordsEncoder, ImageEncoder, TextEncoder, gather_last, length_mask

# lesson 07: shared layers, the fusion strategies and the classifier around them
from .layers import coordinate_grid, expect_features, expect_grid, expect_pair, mlp
from .fusion import (
    CrossAttentionFusion,
    EarlyFusion,
    EncodedPair,
    FiLMFusion,
    Fusion,
    GatedFusion,
    GridFusion,
    ImageOnly,
    LateFusion,
    ProductFusion,
    TextOnly,
)
from .classifier import FusionClassifier, resolve_settings

# lesson 08: the matcher
from .matching import MATCHER_DEFAULTS, EvidenceAttentionFusion, WordEvidenceFusion, build_matcher

# lesson 10: transformers
from .transformer import (
    STEMS,
    TRANSFORMER_DEFAULTS,
    FrozenEncoder,
    MultiHeadSelfAttention,
    PatchEmbedding,
    SingleStreamFusion,
    TransformerBlock,
    build_transformer,
)

# lesson 11: contrastive alignment
from .contrastive import (
    CLIP_DEFAULTS,
    DotProductFusion,
    build_dual_encoder,
    embed_images,
    embed_texts,
    info_nce,
    similarity_matrix,
)

# lesson 12: a role captioner (not a pair classifier, so not in the zoo)
from .captioner import (
    BOS,
    BOS_ID,
    CAPTIONER_DEFAULTS,
    EOS,
    EOS_ID,
    RoleCaptioner,
    beam_search,
    build_captioner,
    caption_vocab,
    greedy_decode,
    prefix_lm_mask,
    decode_ids,
    sample_captions,
    teacher_forcing,
)

# every model by name
from .zoo import (
    MODELS,
    REGISTRY,
    ModelEntry,
    build_fusion_classifier,
    build_model,
    expect_model_name,
    model_names,
)

# isort: on

__all__ = [
    # lessons 04-05
    "length_mask", "gather_last", "ImageEncoder", "TextEncoder", "BagOfWordsEncoder",
    # lesson 07
    "mlp", "coordinate_grid", "expect_features", "expect_pair", "expect_grid",
    "EncodedPair", "Fusion", "GridFusion", "ImageOnly", "TextOnly", "EarlyFusion", "LateFusion",
    "ProductFusion", "FiLMFusion", "CrossAttentionFusion", "GatedFusion", "FusionClassifier", "resolve_settings",
    # lesson 08
    "EvidenceAttentionFusion", "WordEvidenceFusion", "MATCHER_DEFAULTS", "build_matcher",
    # lesson 10
    "MultiHeadSelfAttention", "TransformerBlock", "PatchEmbedding", "SingleStreamFusion", "TRANSFORMER_DEFAULTS",
    "build_transformer",
    "FrozenEncoder",
    "STEMS",
    # lesson 11
    "info_nce", "DotProductFusion", "CLIP_DEFAULTS", "build_dual_encoder", "embed_images", "embed_texts",
    "similarity_matrix",
    # lesson 12
    "BOS", "EOS", "BOS_ID", "EOS_ID", "caption_vocab", "teacher_forcing", "decode_ids", "prefix_lm_mask", "RoleCaptioner", "CAPTIONER_DEFAULTS", "build_captioner",
    "greedy_decode", "sample_captions", "beam_search",
    # the zoo
    "ModelEntry", "REGISTRY", "MODELS", "build_model", "build_fusion_classifier", "model_names", "expect_model_name",
]  # fmt: skip
