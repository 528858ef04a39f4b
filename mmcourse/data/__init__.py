"""Multimodal data for the course (lesson 06 and after), generated offline from a seed.

- `make_shapes` -- scenes of two coloured shapes with a caption; does the caption match?
  (mmcourse.data.shapes explains why image-only and text-only models sit at chance and
  why bag of words tops out at 2/3)
- `make_digit_arithmetic`, `make_digit_captions` -- scikit-learn's bundled 8 x 8 digits with
  a caption: the complementary case ("plus three") and the redundant case ("seven")
- `split` -- train / val / test with a seed, and a shifted test set
- `hflip_pair`, `hflip_data` -- flipping an image must flip "left" and "right" in its caption
- `to_tensors`, `TensorBatches`, `PairDataset` -- getting the data to PyTorch
"""

from .dataset import *  # noqa: F403
from .dataset import __all__ as _dataset_all
from .shapes import *  # noqa: F403
from .shapes import __all__ as _shapes_all

__all__ = [*_dataset_all, *_shapes_all]
