"""Ask a trained model about one image and one caption, prepared exactly as in training.

    predict("runs/shapes-matcher-seed0/model.pt", "scene.png", "a red circle is left of a blue square")
    # {'task': 'shapes', 'prediction': 'match', 'probability': 0.97, 'probabilities': {...}, ...}

The image goes through exactly the preprocessing of training: a PNG read as float32 in
[0, 1] (matplotlib reads 8-bit PNGs that way), the alpha channel dropped, colour or
grey as the model expects, channels first (1, C, H, W), at the size the model was
trained on (16 x 16 for shapes, 8 x 8 for the digit tasks). The caption is tokenised
with the model's own vocabulary. Anything wrong -- a missing or unreadable checkpoint,
a file that is not a PNG, the wrong size, an empty caption, words the model never saw
-- raises PredictError with a one-line reason; nothing is guessed. `mmcourse predict`
(mmcourse.predict_cli) is the command line over `predict`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "PredictError",
    "expected_image_size",
    "load_png",
    "encode_caption",
    "predict",
    "predict_exported",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABEL_NAMES = {"shapes": ("mismatch", "match"), "shapes-contrastive": ("mismatch", "match")}


class PredictError(ValueError):
    """Bad input for a prediction (a missing file, a wrong size, unknown words); `mmcourse predict` prints it as one line."""


def expected_image_size(checkpoint: dict) -> int | None:
    """H = W of the images the checkpoint's model was trained on (None if unknown)."""
    from .tasks import TASKS

    if "image_size" in checkpoint:
        return int(checkpoint["image_size"])
    task = checkpoint.get("task")
    return TASKS[task].image_size if task in TASKS else None


def load_png(path, channels: int, size: int | None):
    """A PNG file -> float32 array (channels, H, W) in [0, 1], as the training images were.

    Raises PredictError (with a one-line reason) for a missing file, a file that is not a
    PNG, an unreadable PNG, or the wrong size.
    """
    import matplotlib.image
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise PredictError(f"no image file at {path}.")
    with open(path, "rb") as handle:
        if handle.read(8) != PNG_SIGNATURE:
            raise PredictError(f"{path} is not a PNG image (its first bytes are not the PNG signature).")
    try:
        pixels = np.asarray(matplotlib.image.imread(path), dtype=np.float32)
    except Exception as error:  # a truncated or corrupt PNG
        raise PredictError(f"could not read {path} as a PNG image: {error}.") from None
    if pixels.max(initial=0) > 1:  # 16-bit PNGs and the like: back to [0, 1]
        pixels = pixels / 255.0
    if pixels.ndim == 3:
        pixels = pixels[..., :3]  # drop alpha
    if size is not None and pixels.shape[:2] != (size, size):
        raise PredictError(
            f"{path} is {pixels.shape[1]} x {pixels.shape[0]} pixels, but this model was trained on "
            f"{size} x {size} images; resize it to {size} x {size} first."
        )
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if channels == 1 and pixels.shape[2] == 3:
        pixels = pixels.mean(axis=2, keepdims=True)  # grey: the three channels of a grey PNG are equal
    elif channels == 3 and pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def encode_caption(caption: str, vocab):
    """(tokens (1, T) int64, lengths (1,) int64) for one caption; PredictError if empty or with unknown words."""
    import torch

    from .text import tokenize

    words = tokenize(caption) if isinstance(caption, str) else []
    if not words:
        raise PredictError(
            'the caption is empty; give one, e.g. --caption "a red circle is left of a blue square".'
        )
    unknown = sorted({w for w in words if w not in vocab.stoi})
    if unknown:
        known = ", ".join(vocab.itos[2:40])
        raise PredictError(
            f"unknown word(s) {', '.join(repr(w) for w in unknown)}: the model never saw them in training. "
            f"Its vocabulary: {known}{', ...' if len(vocab) > 40 else ''}."
        )
    tokens, lengths = vocab.encode([caption])
    return torch.as_tensor(tokens), torch.as_tensor(lengths)


def predict_exported(path, image_path, caption: str):
    """Probabilities (n_classes,) and the task, from an exported .pt2 / .onnx / .pte and the metadata beside it."""
    import numpy as np
    import torch

    from .deployed import load_runner, read_metadata
    from .text import Vocab

    try:
        info = read_metadata(path)
        run = load_runner(path)
    except (ValueError, FileNotFoundError, ImportError) as error:
        raise PredictError(str(error)) from None
    image = load_png(image_path, info["in_channels"], info["image_size"])
    tokens, lengths = encode_caption(caption, Vocab(info["vocab"]))
    width = info["caption_width"]
    if tokens.shape[1] > width:
        raise PredictError(
            f"the caption has {tokens.shape[1]} words, but {Path(path).name} reads at most {width}."
        )
    # padding on the right changes nothing the model computes
    tokens = torch.nn.functional.pad(tokens, (0, width - tokens.shape[1]))
    logits = run(torch.as_tensor(image)[None], tokens, lengths)[0].astype(np.float64)
    probabilities = np.exp(logits - logits.max())
    return torch.as_tensor(probabilities / probabilities.sum()), info.get("task")


def predict(checkpoint_path, image_path, caption: str) -> dict:
    """Run the checkpoint's model on one PNG and one caption; returns {task, probabilities, prediction, ...}.

    checkpoint_path may also be a model written by `mmcourse export` (.pt2, .onnx or .pte),
    which is then run by its own runtime (mmcourse.deployed).
    """
    import torch

    from .checkpoint import load_checkpoint
    from .deployed import RUNTIMES

    checkpoint_path = Path(checkpoint_path)
    if checkpoint_path.suffix in RUNTIMES:
        probabilities, task = predict_exported(checkpoint_path, image_path, caption)
        return _result(task, caption, probabilities)
    if not checkpoint_path.is_file():
        raise PredictError(f"no checkpoint at {checkpoint_path}; train one with `mmcourse train`.")
    try:
        model, vocab, checkpoint = load_checkpoint(checkpoint_path, device="cpu")
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PredictError(f"could not load the checkpoint {checkpoint_path}: {reason}") from None
    channels = int(model.config.get("in_channels", 3))
    image = load_png(image_path, channels, expected_image_size(checkpoint))
    tokens, lengths = encode_caption(caption, vocab)
    with torch.no_grad():
        probabilities = model(torch.as_tensor(image)[None], tokens, lengths).softmax(dim=1)[0]
    return _result(checkpoint.get("task"), caption, probabilities)


def _result(task, caption, probabilities) -> dict:
    names = LABEL_NAMES.get(task, tuple(str(k) for k in range(len(probabilities))))
    best = int(probabilities.argmax())
    return {
        "task": task,
        "caption": caption,
        "prediction": names[best],
        "probability": float(probabilities[best]),
        "probabilities": {name: round(float(p), 6) for name, p in zip(names, probabilities)},
    }
