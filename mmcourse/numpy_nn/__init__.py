"""Neural-network building blocks in plain NumPy (Part I and the from-scratch halves of Part II).

One submodule per concept, listed here by the lesson that builds it, so lessons can write

    from mmcourse.numpy_nn import sigmoid, softmax, conv2d

and a reader of this file sees where each name lives.
"""

# isort: off
# lesson 01: the neuron
from .activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad
from .dense import dense_backward, dense_forward

# lesson 02: softmax and cross-entropy
from .losses import (
    cross_entropy,
    log_softmax,
    one_hot,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_grad,
)

# lesson 03: backpropagation
from .gradcheck import numerical_gradient, relative_error
from .two_layer import (
    TWO_LAYER_PARAMS,
    gd_step,
    init_two_layer,
    two_layer_backward,
    two_layer_forward,
    two_layer_loss,
    two_layer_predict,
)

# lesson 04: convolutions
from .conv import conv2d, conv2d_naive, conv_output_size, im2col, maxpool2d, pad_images

# lesson 05: the LSTM cell
from .lstm import GATE_ORDER, lstm_cell

# lesson 10: attention
from .attention import (
    causal_mask,
    multi_head_attention,
    patchify,
    scaled_dot_product_attention,
    sinusoidal_positions,
)

# isort: on

__all__ = [
    # lesson 01
    "sigmoid", "sigmoid_grad", "relu", "relu_grad", "tanh", "tanh_grad", "dense_forward", "dense_backward",
    # lesson 02
    "one_hot", "softmax", "log_softmax", "cross_entropy", "softmax_cross_entropy", "softmax_cross_entropy_grad",
    # lesson 03
    "numerical_gradient", "relative_error", "TWO_LAYER_PARAMS", "init_two_layer", "two_layer_forward",
    "two_layer_backward", "two_layer_loss", "two_layer_predict", "gd_step",
    # lesson 04
    "conv_output_size", "pad_images", "conv2d_naive", "im2col", "conv2d", "maxpool2d",
    # lesson 05
    "lstm_cell", "GATE_ORDER",
    # lesson 10
    "scaled_dot_product_attention", "causal_mask", "patchify", "sinusoidal_positions", "multi_head_attention",
]  # fmt: skip
