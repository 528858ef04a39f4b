"""Training-batch transforms put together: `ChainedTransforms(AttributeNegatives(...), ModalityDropout(...))`."""

from __future__ import annotations

__all__ = ["ChainedTransforms"]


class ChainedTransforms:
    """Batch transforms applied one after the other; their random states are saved together.

    batch -> transforms[0](batch) -> transforms[1](...) -> ...; state_dict() collects the
    state of each transform that has one, so a checkpointed run resumes every one of them.
    """

    def __init__(self, *transforms):
        for i, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(
                    f"transform {i} must be callable (batch -> batch), but got {type(transform).__name__}."
                )
        self.transforms = transforms

    def __call__(self, batch):
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def state_dict(self) -> dict:
        return {i: t.state_dict() for i, t in enumerate(self.transforms) if hasattr(t, "state_dict")}

    def load_state_dict(self, state: dict) -> None:
        for i, t in enumerate(self.transforms):
            if i in state and hasattr(t, "load_state_dict"):
                t.load_state_dict(state[i])
