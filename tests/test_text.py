"""Unit tests of mmcourse.text: tokenize, Vocab, padding, bag of words."""

import numpy as np
import pytest

from mmcourse.text import PAD_ID, UNK_ID, Vocab, bag_of_words, pad_sequences, tokenize

CAPTIONS = [
    "a red circle is left of a blue square",
    "a green triangle is above a red circle",
    "a blue square is below a yellow triangle",
]


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("A Red circle, left of it.") == ["a", "red", "circle", ",", "left", "of", "it", "."]
    assert tokenize("") == []


def test_tokenize_rejects_non_strings():
    with pytest.raises(TypeError, match="text must be a string"):
        tokenize(["a", "list"])


def test_vocab_reserves_pad_and_unk():
    vocab = Vocab.build(CAPTIONS)
    assert vocab.itos[PAD_ID] == "<pad>" and vocab.itos[UNK_ID] == "<unk>"
    assert PAD_ID == 0 and UNK_ID == 1
    assert vocab.stoi["a"] == 2  # the most frequent word gets the first free id
    assert len(vocab) == len(set(" ".join(CAPTIONS).split())) + 2


def test_vocab_build_is_deterministic_and_order_independent():
    assert Vocab.build(CAPTIONS).itos == Vocab.build(CAPTIONS[::-1]).itos


def test_encode_pads_on_the_right_and_returns_lengths():
    vocab = Vocab.build(CAPTIONS)
    tokens, lengths = vocab.encode(["a red circle is above a blue square", "a red circle"])
    assert tokens.dtype == np.int64 and lengths.dtype == np.int64
    assert tokens.shape == (2, 8)
    assert lengths.tolist() == [8, 3]
    assert (tokens[1, 3:] == PAD_ID).all() and (tokens[1, :3] != PAD_ID).all()


def test_round_trip():
    vocab = Vocab.build(CAPTIONS)
    tokens, lengths = vocab.encode(CAPTIONS)
    assert vocab.decode(tokens, lengths) == CAPTIONS
    assert vocab.decode(tokens) == CAPTIONS


def test_unknown_words_map_to_unk():
    vocab = Vocab.build(CAPTIONS)
    tokens, lengths = vocab.encode(["a purple hexagon"])
    assert tokens.tolist() == [[vocab.stoi["a"], UNK_ID, UNK_ID]]
    assert vocab.decode(tokens, lengths) == ["a <unk> <unk>"]


def test_max_len_cuts_and_clips_lengths():
    vocab = Vocab.build(CAPTIONS)
    tokens, lengths = vocab.encode(CAPTIONS, max_len=4)
    assert tokens.shape == (3, 4) and lengths.tolist() == [4, 4, 4]
    tokens, lengths = vocab.encode(["a red"], max_len=5)
    assert tokens.shape == (1, 5) and lengths.tolist() == [2]


def test_min_count_and_max_size():
    vocab = Vocab.build(CAPTIONS, min_count=2)
    assert "left" not in vocab and "red" in vocab
    assert len(Vocab.build(CAPTIONS, max_size=5)) == 5


def test_save_and_load(tmp_path):
    vocab = Vocab.build(CAPTIONS)
    vocab.save(tmp_path / "vocab.json")
    again = Vocab.load(tmp_path / "vocab.json")
    assert again.itos == vocab.itos
    np.testing.assert_array_equal(again.encode(CAPTIONS)[0], vocab.encode(CAPTIONS)[0])


def test_load_rejects_other_json(tmp_path):
    (tmp_path / "x.json").write_text('{"itos": ["a", "b"]}')
    with pytest.raises(ValueError, match="not a saved Vocab"):
        Vocab.load(tmp_path / "x.json")


@pytest.mark.parametrize(
    "captions, error, fragment",
    [
        ([], ValueError, "captions must hold at least one caption"),
        ("a red circle", TypeError, "Wrap it in a list"),
        (["a red circle", 3], TypeError, "item 1 is int"),
        (None, TypeError, "captions must be a list of strings"),
    ],
)
def test_bad_captions(captions, error, fragment):
    with pytest.raises(error, match=fragment):
        Vocab.build(captions)
    with pytest.raises(error, match=fragment):
        Vocab.build(CAPTIONS).encode(captions)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="max_len"):
        Vocab.build(CAPTIONS).encode(CAPTIONS, max_len=0)
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build(CAPTIONS, min_count=0)
    with pytest.raises(ValueError, match="tokens must be ids"):
        Vocab.build(CAPTIONS).decode(np.array([[99]]))


def test_pad_sequences():
    tokens, lengths = pad_sequences([[5, 6, 7], [8]])
    assert tokens.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]


def test_bag_of_words_ignores_order_and_padding():
    vocab = Vocab.build(CAPTIONS)
    swapped = "a blue square is left of a red circle"
    tokens, lengths = vocab.encode([CAPTIONS[0], swapped, "a red"])
    bow = bag_of_words(tokens, len(vocab), lengths)
    assert bow.shape == (3, len(vocab)) and bow.dtype == np.float32
    np.testing.assert_array_equal(bow[0], bow[1])  # word order is lost
    assert bow[2, PAD_ID] == 0 and bow[2].sum() == 2
    assert bow[0, vocab.stoi["a"]] == 2


def test_bag_of_words_checks_ids():
    with pytest.raises(ValueError, match="vocab_size"):
        bag_of_words(np.array([[3, 4]]), vocab_size=4)
