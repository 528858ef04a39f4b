"""Multimodal data for the course (lesson 06 and after), generated offline from a seed.

- `make_shapes` -- scenes of two coloured shapes with a caption; does the caption match?
  (mmcourse.data.shapes explains why image-only and text-only models sit at chance and
  why bag of words tops out at 2/3)
- `make_digit_arithmetic`, `make_digit_captions` -- scikit-learn's bundled 8 x 8 digits with
  a caption: the complementary case ("plus three") and the redundant case ("seven")
- `split` -- train / val / test with a seed, and a shifted test set
- `hflip_pair`, `hflip_data` -- flipping an image must flip "left" and "right" in its caption
- `to_tensors`, `TensorBatches`, `PairDataset` -- getting the data to PyTorch
- `AttributeNegatives` -- new mismatches from true captions, one colour or shape word changed
- `scene_captions`, `caption_meanings`, `order_twins` -- true pairs only, for contrastive
  training (lesson 11): which captions state the same fact, and each caption's false twins
"""

# isort: off
# lessons 04 and 06: the container and the generators
from .dataset import MultimodalData, concat_data
from .shapes import (
    BAG_OF_WORDS_CEILING,
    COLOURS,
    MIN_IMAGE_SIZE,
    MISMATCH_KINDS,
    RELATIONS,
    SHAPES,
    caption_is_true,
    captions_true,
    describe,
    make_shapes,
    mismatch_kinds,
    object_half_size,
    order_blind_oracle,
    parse_caption,
)
from .digits import NUMBER_WORDS, digit_pool, make_digit_arithmetic, make_digit_captions

# lesson 05: the word-order task
from .order import ORDER_SIZES, order_captions

# lesson 06: splits, synced augmentation, batches for PyTorch
from .splits import Splits, shifted_mask, split
from .augment import hflip_data, hflip_pair, swap_left_right
from .loaders import PairDataset, TensorBatches, to_tensors

# lesson 08: hard negatives made from true captions
from .negatives import AttributeNegatives, attribute_word_groups, change_one_attribute
from .transforms import ChainedTransforms

# lesson 11: true pairs only, what each caption means, and its word-order twins
from .pairs import (
    FULL_PALETTE,
    caption_meaning,
    caption_meanings,
    order_twins,
    reversed_caption,
    scene_captions,
    swapped_caption,
)

# lesson 12: one scene, said in a requested role
from .roles import (
    KNOWLEDGE_ROLES,
    PIGMENTS,
    ROLES,
    expect_role,
    make_role_captions,
    parse_role_caption,
    role_caption,
    role_words,
)

# isort: on

__all__ = [
    # lessons 04 and 06
    "MultimodalData", "concat_data", "COLOURS", "SHAPES", "RELATIONS", "MISMATCH_KINDS", "BAG_OF_WORDS_CEILING",
    "MIN_IMAGE_SIZE", "make_shapes", "describe", "parse_caption", "caption_is_true", "captions_true",
    "order_blind_oracle", "mismatch_kinds", "object_half_size",
    "NUMBER_WORDS", "make_digit_arithmetic", "make_digit_captions", "digit_pool",
    # lesson 05
    "ORDER_SIZES", "order_captions",
    # lesson 06
    "Splits", "split", "shifted_mask", "swap_left_right", "hflip_pair", "hflip_data",
    "to_tensors", "TensorBatches", "PairDataset",
    # lesson 08
    "attribute_word_groups", "change_one_attribute", "AttributeNegatives", "ChainedTransforms",
    # lesson 11
    "FULL_PALETTE", "scene_captions", "caption_meaning", "caption_meanings", "swapped_caption", "reversed_caption",
    "order_twins",
    # lesson 12
    "ROLES", "PIGMENTS", "KNOWLEDGE_ROLES", "expect_role", "role_caption", "parse_role_caption", "role_words",
    "make_role_captions",
]  # fmt: skip
