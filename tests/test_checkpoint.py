"""Checkpoints: save -> load round-trips exactly, saving is atomic, bad files load nothing."""

import pickle

import pytest
import torch

import mmcourse.checkpoint as ckpt
from mmcourse.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from mmcourse.models import build_model
from mmcourse.models.matching import build_matcher
from mmcourse.text import Vocab

VOCAB = Vocab(["a", "red", "circle", "is", "left", "of", "blue", "square"])


def _batch(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, 16, 16, generator=g)
    tokens = torch.randint(2, len(VOCAB), (n, 9), generator=g)
    lengths = torch.tensor([9, 8, 9, 5, 9][:n])
    for i, length in enumerate(lengths):
        tokens[i, length:] = 0
    return images, tokens, lengths


@pytest.mark.parametrize("make", [lambda: build_model("attention", vocab_size=len(VOCAB)),
                                  lambda: build_matcher(vocab_size=len(VOCAB))])  # fmt: skip
def test_save_then_load_round_trips_exactly(tmp_path, make):
    torch.manual_seed(0)
    model = make().eval()
    path = save_checkpoint(
        tmp_path / "m.pt", model, vocab=VOCAB, metrics={"val_accuracy": 0.75}, task="shapes"
    )
    loaded, vocab, checkpoint = load_checkpoint(path)
    assert not loaded.training and vocab.itos == VOCAB.itos
    assert checkpoint["metrics"] == {"val_accuracy": 0.75} and checkpoint["task"] == "shapes"
    assert checkpoint["format"] == ckpt.FORMAT and loaded.config == model.config
    with torch.no_grad():
        assert torch.equal(loaded(*_batch()), model(*_batch()))
    raw = torch.load(path, weights_only=True)  # plain data only: readable without running code
    assert set(raw) >= {"state_dict", "config", "vocab", "metrics"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_crash_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model = build_model("early", vocab_size=len(VOCAB))
    path = save_checkpoint(tmp_path / "m.pt", model, vocab=VOCAB, metrics={"epoch": 1})
    before = path.read_bytes()

    def crash(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, vocab=VOCAB, metrics={"epoch": 2})
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file must be cleaned up"
    monkeypatch.undo()
    assert load_checkpoint(path)[2]["metrics"] == {"epoch": 1}


class _Payload:
    """An arbitrary object: a pickle of it would run code on load."""


@pytest.mark.parametrize(
    "write, fragment",
    [
        (lambda p: p.write_bytes(b"\x00\x01 not a checkpoint at all"), "not a readable checkpoint"),
        (lambda p: p.write_bytes(_valid_bytes(p)[:200]), "not a readable checkpoint"),
        (lambda p: torch.save(build_model("early").state_dict(), p), "lacks ['state_dict', 'config']"),
        (lambda p: torch.save({"format": "someone-else", "state_dict": {}}, p), "not an mmcourse checkpoint"),
        (lambda p: p.write_bytes(pickle.dumps(_Payload())), "not a readable checkpoint"),
        (lambda p: torch.save([1, 2, 3], p), "not an mmcourse checkpoint"),
    ],
    ids=["random-bytes", "truncated", "bare-state-dict", "foreign-format", "pickled-object", "a-list"],
)
def test_corrupt_or_foreign_files_give_a_clear_error_and_build_nothing(
    tmp_path, monkeypatch, write, fragment
):
    path = tmp_path / "bad.pt"
    write(path)
    built = []
    monkeypatch.setattr(ckpt, "build_by_name", lambda *a, **k: built.append(a))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert fragment in str(info.value) and "bad.pt" in str(info.value)
    assert built == [], "no model may be built from a bad file"


def _valid_bytes(path):
    good = path.with_name("good.pt")
    save_checkpoint(good, build_model("early"), vocab=VOCAB)
    return good.read_bytes()


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    model = build_model("early", vocab_size=len(VOCAB))
    state = model.state_dict()
    state["classifier.weight"] = torch.zeros(3, 3)
    save_checkpoint(tmp_path / "m.pt", state_dict=state, config=model.config, vocab=VOCAB)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(tmp_path / "m.pt")


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_checkpoint("no/such/model.pt")


def test_there_is_one_load_checkpoint():
    import mmcourse.tasks
    import mmcourse.train
    import mmcourse.train_cli

    for module in (mmcourse.train, mmcourse.train_cli, mmcourse.tasks):
        assert not hasattr(module, "load_checkpoint"), module.__name__
