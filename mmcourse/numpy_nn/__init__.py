"""Neural-network building blocks in plain NumPy (Part I and the from-scratch halves of Part II).

One submodule per concept (activations, losses, the two-layer network, gradient
checking, convolution, the LSTM cell, ...). Everything a submodule lists in its
`__all__` is also available from here, so lessons can write

    from mmcourse.numpy_nn import sigmoid, softmax, conv2d

without knowing which file a function lives in.
"""

import importlib
import pkgutil

__all__ = []

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", []):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
