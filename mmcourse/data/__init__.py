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
"""

from .augment import *  # noqa: F403
from .augment import __all__ as _augment_all
from .dataset import *  # noqa: F403
from .dataset import __all__ as _dataset_all
from .digits import *  # noqa: F403
from .digits import __all__ as _digits_all
from .loaders import *  # noqa: F403
from .loaders import __all__ as _loaders_all
from .negatives import *  # noqa: F403
from .negatives import __all__ as _negatives_all
from .shapes import *  # noqa: F403
from .shapes import __all__ as _shapes_all
from .splits import *  # noqa: F403
from .splits import __all__ as _splits_all

__all__ = [
    *_dataset_all,
    *_shapes_all,
    *_digits_all,
    *_splits_all,
    *_augment_all,
    *_loaders_all,
    *_negatives_all,
]
