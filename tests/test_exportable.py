"""mmcourse.exportable: each rewrite computes what the model computes, and each check can fail.

(The whole wrapper against every model of the zoo is in tests/test_export.py; that the
rewritten matcher is one XNNPACK partition, in tests/test_mobile.py.)
"""

import pytest
import torch

from mmcourse.exportable import ExportableClassifier, constant_coordinates, lstm_input_table, lstm_states
from mmcourse.models import build_model
from mmcourse.models.layers import coordinate_grid

torch.set_num_threads(1)


def _captions(B=16, T=7, vocab_size=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T
    tokens = torch.randint(2, vocab_size, (B, T), generator=g)
    tokens[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


@pytest.mark.parametrize("h, w", [(4, 4), (2, 5), (1, 3), (3, 1)])
def test_constant_coordinates_are_the_coordinate_grid(h, w):
    expected = coordinate_grid(h, w).reshape(1, 2, h * w)
    assert torch.allclose(constant_coordinates(h, w), expected, atol=1e-7)
    assert not torch.allclose(constant_coordinates(w, h), expected) or h == w  # x and y are not interchangeable


def test_the_input_table_replaces_the_input_projection_exactly():
    torch.manual_seed(0)
    embedding, lstm = torch.nn.Embedding(20, 8, padding_idx=0), torch.nn.LSTM(8, 6, batch_first=True)
    tokens, _ = _captions()
    table = lstm_input_table(embedding, lstm)
    assert table.shape == (20, 4 * 6)
    with torch.no_grad():
        words = embedding(tokens)
        expected, _ = lstm(words)
        looked_up = torch.nn.functional.embedding(tokens, table)
        assert torch.allclose(lstm_states(lstm, words, looked_up), expected, atol=1e-6)
        # the check can fail: a table without the recurrent bias b_hh gives other states
        without_b_hh = torch.nn.functional.linear(embedding.weight, lstm.weight_ih_l0, lstm.bias_ih_l0)
        wrong = torch.nn.functional.embedding(tokens, without_b_hh)
        assert not torch.allclose(lstm_states(lstm, words, wrong), expected, atol=1e-3)


def test_the_int8_table_rounds_each_row_by_at_most_half_its_scale():
    torch.manual_seed(0)
    model = build_model("matcher", vocab_size=20).eval()
    tokens, lengths = _captions(T=9)
    images = torch.rand(len(tokens), 3, 16, 16, generator=torch.Generator().manual_seed(1))
    wrapper = ExportableClassifier(model).eval()
    table = wrapper.input_table.clone()
    with torch.no_grad():
        before = wrapper(images, tokens, lengths)
        wrapper.store_table_in_int8()
        after = wrapper(images, tokens, lengths)
    q, scale = wrapper.input_table, wrapper.input_table_scale
    assert q.dtype == torch.int8 and scale.shape == (20, 1)
    assert (q.abs().amax(dim=1) == 127).all()  # each row uses the whole range
    assert ((table - scale * q.float()).abs() <= scale / 2 + 1e-7).all()
    change = (after - before).abs().max().item()
    assert 0 < change < 0.05, change  # rounded, so not exact, but close
    wrapper.store_table_in_int8()  # a second call changes nothing
    assert torch.equal(wrapper.input_table, q) and torch.equal(wrapper.input_table_scale, scale)


def test_a_bag_of_words_model_has_no_table_to_store():
    wrapper = ExportableClassifier(build_model("early-bow", vocab_size=20))
    with pytest.raises(ValueError, match="bag-of-words"):
        wrapper.store_table_in_int8()


def test_the_wrapper_reads_the_table_it_was_built_with():
    """Built after training: a wrapper keeps the table of the weights it saw (documented, and checked)."""
    torch.manual_seed(0)
    model = build_model("early", vocab_size=20).eval()
    tokens, lengths = _captions(T=9)
    images = torch.rand(len(tokens), 3, 16, 16)
    wrapper = ExportableClassifier(model).eval()
    with torch.no_grad():
        model.text_encoder.lstm.bias_ih_l0 += 0.5  # "training" after the wrapper was built
        assert not torch.allclose(wrapper(images, tokens, lengths), model(images, tokens, lengths), atol=1e-3)
        fresh = ExportableClassifier(model).eval()
        assert torch.allclose(fresh(images, tokens, lengths), model(images, tokens, lengths), atol=1e-5)
