"""mmcourse: the helper library of the multimodal deep learning course.

Each module holds what one part of the course built, so later lessons can import it:

- `mmcourse.numpy_nn`   -- from scratch in NumPy: activations, softmax, backprop, convolution, the LSTM cell, attention
- `mmcourse.toy_data`   -- small 2-D data sets (blobs, moons, spirals) for Part I
- `mmcourse.widgets`    -- the interactive neuron of lesson 01
- `mmcourse.text`       -- tokens, vocabulary, padding, bag of words (lessons 05-06)
- `mmcourse.data`       -- shapes-and-captions and digit tasks, splits, synced flips, batches (lesson 06)
- `mmcourse.models`     -- PyTorch encoders, fusion models, the matcher and the transformer (lessons 04-10)
- `mmcourse.train`      -- `fit` and `evaluate`: the training loop and its callbacks, on CUDA, MPS or CPU
- `mmcourse.config`     -- `TrainConfig`: every setting of a training run, in one frozen dataclass
- `mmcourse.tasks`      -- the course's tasks, their preset TrainConfigs, `load_task` and `train_model`
- `mmcourse.checkpoint` -- atomic checkpoints, loaded with weights_only=True (lesson 08)
- `mmcourse.train_cli`  -- `mmcourse train`: a thin command line over `tasks.train_model`
- `mmcourse.robust`     -- missing and corrupted modalities, robustness curves, modality dropout (lesson 09)
- `mmcourse.explain`    -- saliency on pixels, word importance, modality weights (lesson 09)
- `mmcourse.export`     -- torch.export (.pt2) and ONNX, parity and latency; TorchScript as legacy (lesson 09)
- `mmcourse.mobile`     -- ExecuTorch programs (.pte) for phones, and int8 quantisation with PT2E (lesson 09)
- `mmcourse.deployed`   -- which runtime runs an exported file, and the metadata beside it (lesson 09)
- `mmcourse.inference`  -- one PNG and one caption through a trained model, as in training (lesson 09)
- `mmcourse.predict_cli` -- `mmcourse predict CHECKPOINT --image scene.png --caption ...` (lesson 09)
- `mmcourse.export_cli` -- `mmcourse export CHECKPOINT --to {exported,onnx,executorch} [--int8] --out FILE`
- `mmcourse.timing`     -- fair timing on a busy machine (best of several runs)
- `mmcourse.metrics`    -- accuracy and friends, written out so they can be read
- `mmcourse.env`        -- device choice (CUDA, then MPS, then CPU) and the environment report (lesson 00)
- `mmcourse.checks`     -- `check(exercise_id, answer)`: immediate feedback on exercises
- `mmcourse.validation` -- the input checks behind every clear error message
- `mmcourse.exercises`  -- exercises/ generated from solutions/ (maintainers)
- `mmcourse.authoring`  -- notebook conventions: the Colab cell, nbgrader cells (maintainers)
"""

import inspect

__version__ = "0.1.0"


def show_source(obj) -> None:
    """Print the source code of a function or class from mmcourse, so a lesson can show it."""
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(
            f"show_source needs a function or class defined in Python, but got {obj!r}: {error}"
        ) from None
    module = getattr(obj, "__module__", "?")
    print(f"# {module}.{getattr(obj, '__qualname__', '')}\n{source}")
