"""The lesson-01 neuron explorer: its callback logic, without a browser."""

import numpy as np
import pytest

from mmcourse.toy_data import make_blobs
from mmcourse.widgets import NeuronExplorer, boundary_segment, neuron_accuracy, render_neuron_png


def test_boundary_segment_of_a_diagonal_line():
    (a, b) = boundary_segment([1.0, 1.0], 0.0, limits=(-3, 3))  # x1 + x2 = 0
    assert a == pytest.approx((-3.0, 3.0)) and b == pytest.approx((3.0, -3.0))


def test_boundary_segment_of_vertical_and_horizontal_lines():
    assert boundary_segment([2.0, 0.0], -1.0) == ((0.5, -3.0), (0.5, 3.0))  # x1 = 0.5
    assert boundary_segment([0.0, 1.0], 1.0) == ((-3.0, -1.0), (3.0, -1.0))  # x2 = -1


def test_no_boundary_when_w_is_zero_or_the_line_misses_the_box():
    assert boundary_segment([0.0, 0.0], 1.0) is None
    assert boundary_segment([1.0, 1.0], 100.0) is None


def test_every_boundary_point_lies_on_the_line_and_in_the_box():
    rng = np.random.default_rng(0)
    for _ in range(50):
        w, b = rng.normal(size=2), rng.normal()
        segment = boundary_segment(w, b, limits=(-2, 2))
        if segment is None:
            continue
        for point in segment:
            assert abs(w @ np.array(point) + b) < 1e-9
            assert all(-2 - 1e-9 <= c <= 2 + 1e-9 for c in point)


def test_neuron_accuracy_counts_the_side_of_the_line():
    X = np.array([[-1.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    assert neuron_accuracy([1.0, 0.0], 0.0, X, [0, 1, 1]) == 1.0
    assert neuron_accuracy([-1.0, 0.0], 0.0, X, [0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match=r"X must have shape \(2, n\).*X\.T"):
        neuron_accuracy([1.0, 0.0], 0.0, X.T, [0, 1, 1])
    with pytest.raises(ValueError, match="w must have shape"):
        neuron_accuracy([1.0, 0.0, 3.0], 0.0, X, [0, 1, 1])


def test_render_gives_a_png():
    X, labels = make_blobs(10, seed=0)
    assert render_neuron_png(X, labels, [1.0, 1.0], 0.0)[:8] == b"\x89PNG\r\n\x1a\n"


def fake_render(X, labels, w, b, limits):
    return f"{w[0]:.1f},{w[1]:.1f},{b:.1f}".encode()


def test_moving_a_slider_redraws_with_the_new_weights():
    X, labels = make_blobs(30, seed=0)
    explorer = NeuronExplorer(X, labels, w=(1.0, -1.0), b=0.0, render=fake_render)
    assert explorer.redraws == 1 and explorer.image.value == b"1.0,-1.0,0.0"
    explorer.sliders["w2"].value = 1.0  # what a learner's drag does
    assert explorer.redraws == 2 and explorer.image.value == b"1.0,1.0,0.0"
    assert explorer.state["accuracy"] == neuron_accuracy([1.0, 1.0], 0.0, X, labels)
    assert explorer.state["accuracy"] > 0.85  # x1 + x2 = 0 separates the two blobs
    assert "accuracy" in explorer.readout.value


def test_set_moves_several_sliders_and_rejects_unknown_names():
    X, labels = make_blobs(30, seed=0)
    explorer = NeuronExplorer(X, labels, render=fake_render)
    explorer.set(w1=0.0, w2=0.0, b=2.0)
    assert explorer.state["segment"] is None and explorer.state["accuracy"] == 0.5  # σ(2) > 0.5 everywhere
    with pytest.raises(ValueError, match="unknown slider 'w3'"):
        explorer.set(w3=1.0)


def test_explorer_with_the_real_renderer_fills_the_image():
    X, labels = make_blobs(20, seed=1)
    explorer = NeuronExplorer(X, labels)
    explorer.set(b=1.0)
    assert explorer.image.value[:4] == b"\x89PNG" and explorer.redraws == 2


def test_the_picture_is_drawn_at_the_size_it_is_shown():
    import io

    from PIL import Image

    from mmcourse.widgets import PICTURE_PIXELS

    X, labels = make_blobs(20, seed=1)
    assert Image.open(io.BytesIO(render_neuron_png(X, labels, [1.0, 1.0], 0.0))).size == PICTURE_PIXELS
    explorer = NeuronExplorer(X, labels)
    width, height = PICTURE_PIXELS  # a fixed CSS size: no stretching to the notebook's width
    assert (explorer.image.layout.width, explorer.image.layout.height) == (f"{width}px", f"{height}px")


def test_the_explorer_shows_its_picture_where_widgets_cannot_run():
    import base64

    X, labels = make_blobs(20, seed=1)
    explorer = NeuronExplorer(X, labels)
    data, metadata = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data  # JupyterLab, Colab: the sliders
    assert base64.b64decode(data["image/png"]) == explorer.image.value  # a static page: the picture
    assert metadata["image/png"] == {"width": 560, "height": 420}
