"""`mmcourse caption`: describe one PNG scene in a requested role, with a captioner trained by `mmcourse train --task captions`.

    mmcourse caption runs/captions-captioner-seed0/model.pt --image scene.png --role poet
    left of a blue square rests a red circle
    mmcourse caption runs/captions-captioner-seed0/model.pt --image scene.png --role painter --sample 3

Greedy decoding by default; --sample N prints N captions drawn at --temperature (default 1),
one per line. Bad input -- an unknown role (the roles are listed), an image of the wrong size,
a file that is not a readable PNG, a checkpoint that is not a captioner -- is one line on stderr
and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run", "caption"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `mmcourse caption` (errors become one line, exit code 2)."""
    parser.error = lambda message: parser.exit(2, f"{parser.prog}: error: {message}\n")
    parser.add_argument("checkpoint", type=Path, help="model.pt written by `mmcourse train --task captions`")
    parser.add_argument(
        "--image", type=Path, required=True, help="a PNG of the size the model was trained on"
    )
    parser.add_argument("--role", required=True, help="narrator, poet, child or painter")
    parser.add_argument("--sample", type=int, default=None, metavar="N", help="print N sampled captions")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    return parser


def caption(checkpoint_path, image_path, role: str, sample: int | None = None, temperature: float = 1.0,
            seed: int = 0) -> list[str]:  # fmt: skip
    """The caption(s) of one PNG in `role`: [greedy caption], or `sample` sampled ones. PredictError on bad input."""
    import torch

    from .checkpoint import load_checkpoint
    from .data.roles import ROLES
    from .inference import PredictError, expected_image_size, load_png
    from .models.captioner import RoleCaptioner, greedy_decode, sample_captions

    if role not in ROLES:
        raise PredictError(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}.")
    if sample is not None and sample < 1:
        raise PredictError(f"--sample must be a positive number of captions, but got {sample}.")
    if not temperature > 0:
        raise PredictError(f"--temperature must be positive, but got {temperature}.")
    checkpoint_path = Path(checkpoint_path)
    if not checkpoint_path.is_file():
        raise PredictError(
            f"no checkpoint at {checkpoint_path}; train one with `mmcourse train --task captions`."
        )
    try:
        model, vocab, checkpoint = load_checkpoint(checkpoint_path, device="cpu")
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PredictError(f"could not load the checkpoint {checkpoint_path}: {reason}") from None
    if not isinstance(model, RoleCaptioner):
        raise PredictError(f"{checkpoint_path} holds a {model.config.get('name', type(model).__name__)!r} model, not a "
                           "captioner; use `mmcourse predict` for it, or train one with `mmcourse train --task "
                           "captions`.")  # fmt: skip
    image = torch.as_tensor(load_png(image_path, 3, expected_image_size(checkpoint)))[None]
    roles = torch.tensor([ROLES.index(role)])
    if sample is None:
        return greedy_decode(model, vocab, image, roles)
    generator = torch.Generator().manual_seed(seed)
    return [sample_captions(model, vocab, image, roles, temperature, generator)[0] for _ in range(sample)]


def run(args) -> int:
    """Run `mmcourse caption` with parsed `args`; returns the exit code."""
    from .inference import PredictError

    try:
        texts = caption(args.checkpoint, args.image, args.role, args.sample, args.temperature, args.seed)
    except PredictError as error:
        print(f"mmcourse caption: error: {error}", file=sys.stderr)
        return 2
    for text in texts:
        print(text)
    return 0
