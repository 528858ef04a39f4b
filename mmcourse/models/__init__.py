"""PyTorch models of the course, one module per kind of model.

- `mmcourse.models.encoders` (lesson 04-05): `ImageEncoder` (a small CNN), `TextEncoder`
  (embedding + LSTM, the state at each caption's true last token), `BagOfWordsEncoder`
  (masked mean of embeddings), and the masking helpers `length_mask`, `gather_last`.
- `mmcourse.models.fusion` (lesson 07): the fusion strategies -- `ImageOnly`, `TextOnly`,
  `EarlyFusion`, `LateFusion`, `ProductFusion`, `FiLMFusion`, `CrossAttentionFusion`, `GatedFusion`.
- `mmcourse.models.zoo` (lesson 07): `FusionClassifier` and `build_model(name, **config)` with a
  registry of model names.

Everything a submodule lists in `__all__` is importable from here:
`from mmcourse.models import ImageEncoder, TextEncoder`.
"""

import importlib
import pkgutil

__all__ = []

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", []):
        if _name in globals():
            raise ImportError(
                f"mmcourse.models.{_info.name} exports {_name!r}, which another submodule already exports"
            )
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
