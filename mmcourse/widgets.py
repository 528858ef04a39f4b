"""Interactive controls for the lessons (lesson 01: move W and b, watch the boundary move).

The logic is plain functions, tested without a browser:
- `boundary_segment(w, b, limits)`: where the line w·x + b = 0 crosses the plot box;
- `neuron_accuracy(w, b, X, labels)`: how many samples σ(w·x + b) classifies correctly;
- `draw_neuron(ax, X, labels, w, b, limits)`: the picture, on any matplotlib Axes.

`NeuronExplorer` wires them to three ipywidgets sliders. Its picture is rendered to PNG
with matplotlib's Agg canvas and shown in an `ipywidgets.Image`, so the control works
the same in JupyterLab, Colab and a headless test run, with no matplotlib backend setup.
The PNG is drawn at the size it is shown (PICTURE_PIXELS, one pixel per CSS pixel), so the
browser never blows it up, and the sliders, the axes and the legend fit a 1366 x 768 laptop
screen together. Where no widget can run (a static web page, a notebook viewer), the
explorer shows its picture as a plain PNG.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from .numpy_nn.activations import sigmoid
from .validation import as_float_arrays, expect_shape

__all__ = [
    "PICTURE_PIXELS",
    "boundary_segment",
    "neuron_accuracy",
    "draw_neuron",
    "render_neuron_png",
    "NeuronExplorer",
]

PICTURE_DPI = 100
PICTURE_PIXELS = (560, 420)  # (width, height) of the explorer's picture, drawn and shown


def _weights(w, b):
    w = as_float_arrays(w=w).reshape(-1)
    expect_shape("w", w, (2,), hint="the two weights (w1, w2) of a neuron with 2 inputs")
    return w, float(b)


def boundary_segment(w, b, limits=(-3.0, 3.0)):
    """The part of the decision boundary w1·x1 + w2·x2 + b = 0 inside the square box `limits`².

    w: two weights (w1, w2); b: the bias; limits: (low, high) for both axes.
    Returns ((x1_start, x2_start), (x1_end, x2_end)), or None when w = 0 (σ(b) is then the
    same everywhere: no boundary) or when the line misses the box.
    """
    w, b = _weights(w, b)
    low, high = map(float, limits)
    if not np.any(w):
        return None
    points = []
    for axis in (0, 1):  # where the line meets the two edges perpendicular to this axis
        other = 1 - axis
        if w[other] == 0:
            continue
        for edge in (low, high):
            along = -(b + w[axis] * edge) / w[other]
            if low - 1e-12 <= along <= high + 1e-12:
                point = [0.0, 0.0]
                point[axis], point[other] = edge, along
                points.append(tuple(point))
    unique = sorted({(round(float(p[0]), 12), round(float(p[1]), 12)) for p in points})
    if len(unique) < 2:
        return None
    return unique[0], unique[-1]


def neuron_accuracy(w, b, X, labels):
    """Fraction of samples classified correctly by σ(w·x + b) > 0.5 ⇒ class 1.

    w: (2,) weights; b: bias; X: (2, n), one sample per column; labels: (n,) in {0, 1}.
    """
    w, b = _weights(w, b)
    X = as_float_arrays(X=X)
    expect_shape("X", X, (2, None), hint="one sample per column")
    labels = np.asarray(labels)
    expect_shape("labels", labels, (X.shape[1],), hint="one class (0 or 1) per sample")
    predicted = (sigmoid(w @ X + b) > 0.5).astype(int)
    return float((predicted == labels).mean())


def draw_neuron(ax, X, labels, w, b, limits=(-3.0, 3.0)):
    """Draw σ(w·x + b) as a background shade, the samples, the boundary and the weight vector.

    ax: a matplotlib Axes; X: (2, n), one sample per column; labels: (n,) in {0, 1}.
    Returns the accuracy (a float), which is also shown in the title.
    """
    w, b = _weights(w, b)
    low, high = limits
    grid = np.linspace(low, high, 121)
    G1, G2 = np.meshgrid(grid, grid)
    prob = sigmoid(w[0] * G1 + w[1] * G2 + b)
    shade = ax.contourf(G1, G2, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    for cls, colour, marker in ((0, "tab:blue", "o"), (1, "tab:red", "^")):
        mask = np.asarray(labels) == cls
        ax.scatter(
            X[0, mask],
            X[1, mask],
            c=colour,
            marker=marker,
            s=18,
            edgecolors="k",
            linewidths=0.3,
            label=f"class {cls}",
        )
    segment = boundary_segment(w, b, limits)
    if segment is not None:
        (x_a, y_a), (x_b, y_b) = segment
        ax.plot([x_a, x_b], [y_a, y_b], "k-", lw=2, label="boundary σ = 0.5")
    if np.any(w):
        centre = np.clip(-b * w / (w @ w), low, high)  # the point of the boundary nearest the origin
        ax.annotate(
            "",
            xy=centre + w / np.linalg.norm(w),
            xytext=centre,
            arrowprops={"arrowstyle": "->", "color": "k", "lw": 1.5},
        )
    accuracy = neuron_accuracy(w, b, X, labels)
    ax.set(
        xlim=limits,
        ylim=limits,
        xlabel="x₁ (feature 1, no unit)",
        ylabel="x₂ (feature 2, no unit)",
        title=f"w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}: accuracy {accuracy:.2f}",
    )
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=9)
    ax.figure.colorbar(shade, ax=ax, label="σ(w·x + b) = P(class 1)")
    return accuracy


def render_neuron_png(X, labels, w, b, limits=(-3.0, 3.0), pixels=PICTURE_PIXELS) -> bytes:
    """The `draw_neuron` picture as PNG bytes of exactly `pixels` = (width, height).

    Agg canvas: no pyplot, no backend needed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(pixels[0] / PICTURE_DPI, pixels[1] / PICTURE_DPI), dpi=PICTURE_DPI)
    FigureCanvasAgg(figure)
    draw_neuron(figure.add_subplot(), X, labels, w, b, limits)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class NeuronExplorer:
    """Sliders for w1, w2 and b of one neuron σ(w·x + b); every move redraws the boundary.

    X: (2, n), one sample per column; labels: (n,) in {0, 1}. Display `explorer` (or
    `explorer.widget`) in a notebook. `explorer.set(w1=..., w2=..., b=...)` moves the sliders from code;
    `explorer.state` holds the latest w, b, accuracy and boundary segment, and
    `explorer.redraws` counts the redraws (both are what the tests look at).
    """

    def __init__(self, X, labels, w=(1.0, -1.0), b=0.0, limits=(-3.0, 3.0), render=render_neuron_png):
        import ipywidgets as widgets

        self.X = as_float_arrays(X=X)
        expect_shape("X", self.X, (2, None), hint="one sample per column")
        self.labels = np.asarray(labels)
        expect_shape("labels", self.labels, (self.X.shape[1],), hint="one class (0 or 1) per sample")
        w, b = _weights(w, b)
        self.limits, self.render, self.redraws, self.state = limits, render, 0, {}
        slider = dict(min=-5.0, max=5.0, step=0.1, continuous_update=False, readout_format=".1f")
        self.sliders = {
            "w1": widgets.FloatSlider(value=w[0], description="w₁", **slider),
            "w2": widgets.FloatSlider(value=w[1], description="w₂", **slider),
            "b": widgets.FloatSlider(value=b, description="b", **slider),
        }
        width, height = PICTURE_PIXELS
        # a fixed CSS size: in a VBox (a flex column) an image is otherwise stretched to the full width
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width=f"{width}px", height=f"{height}px")
        )
        self.readout = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox(list(self.sliders.values())), self.readout, self.image])
        for control in self.sliders.values():
            control.observe(self.update, names="value")
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        """The widget, with its current picture as a PNG for wherever widgets cannot run."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = {**data, "image/png": base64.b64encode(self.image.value).decode("ascii")}
        width, height = PICTURE_PIXELS
        return data, {**metadata, "image/png": {"width": width, "height": height}}

    def set(self, **values):
        """Move sliders from code, e.g. `set(w1=1.0, b=-0.5)`; each move triggers `update`."""
        for name, value in values.items():
            if name not in self.sliders:
                raise ValueError(f"unknown slider {name!r}; the sliders are {list(self.sliders)}.")
            self.sliders[name].value = value

    def update(self, change=None):
        """The slider callback: recompute the state from the sliders and redraw the picture."""
        w = np.array([self.sliders["w1"].value, self.sliders["w2"].value])
        b = float(self.sliders["b"].value)
        accuracy = neuron_accuracy(w, b, self.X, self.labels)
        self.state = {"w": w, "b": b, "accuracy": accuracy, "segment": boundary_segment(w, b, self.limits)}
        self.readout.value = f"accuracy on these {self.X.shape[1]} samples: <b>{accuracy:.2f}</b>"
        self.image.value = self.render(self.X, self.labels, w, b, self.limits)
        self.redraws += 1
