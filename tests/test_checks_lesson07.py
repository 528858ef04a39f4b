"""Checkers of lesson 07: the reference answers pass; each plausible mistake gets its own hint."""

import pytest
import torch

from mmcourse.checks import ExerciseFailed, check

# --- early_fusion --------------------------------------------------------------------


def early_fusion(image_features, text_features, mlp):
    return mlp(torch.cat([image_features, text_features], dim=1))


def early_batch_axis(image_features, text_features, mlp):
    return mlp(torch.cat([image_features, text_features], dim=0))


def early_stack(image_features, text_features, mlp):
    return mlp(torch.stack([image_features, text_features], dim=1))


def early_sum(image_features, text_features, mlp):
    return mlp(image_features + text_features)


def early_text_first(image_features, text_features, mlp):
    return mlp(torch.cat([text_features, image_features], dim=1))


def early_no_mlp(image_features, text_features, mlp):
    return torch.cat([image_features, text_features], dim=1)


def early_no_return(image_features, text_features, mlp):
    mlp(torch.cat([image_features, text_features], dim=1))


def early_relu_after(image_features, text_features, mlp):
    return torch.relu(mlp(torch.cat([image_features, text_features], dim=1)))


def test_early_fusion_reference_passes(capsys):
    assert check("early_fusion", early_fusion)
    assert "✓ early_fusion" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (early_batch_axis, "concatenated along the BATCH axis (dim=0)"),
        (early_stack, "a stack with a new axis"),
        (early_sum, "CONCATENATES them"),
        (early_text_first, "the text features first"),
        (early_no_mlp, "pass it through `mlp`"),
        (early_no_return, "forget `return`"),
        (early_relu_after, "is not mlp(torch.cat("),
        (42, "expected a function"),
    ],
)
def test_early_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("early_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


# --- late_fusion ---------------------------------------------------------------------


def late_fusion(image_features, text_features, image_head, text_head):
    return (image_head(image_features) + text_head(text_features)) / 2


def late_average_features(image_features, text_features, image_head, text_head):
    return image_head((image_features + text_features) / 2)


def late_average_features_both_heads(image_features, text_features, image_head, text_head):
    mixed = (image_features + text_features) / 2
    return (image_head(mixed) + text_head(mixed)) / 2


def late_swapped(image_features, text_features, image_head, text_head):
    return (image_head(text_features) + text_head(image_features)) / 2


def late_sum(image_features, text_features, image_head, text_head):
    return image_head(image_features) + text_head(text_features)


def late_probs(image_features, text_features, image_head, text_head):
    return (image_head(image_features).softmax(dim=1) + text_head(text_features).softmax(dim=1)) / 2


def late_image_only(image_features, text_features, image_head, text_head):
    return image_head(image_features)


def late_concat_logits(image_features, text_features, image_head, text_head):
    return torch.cat([image_head(image_features), text_head(text_features)], dim=1)


def late_batch_axis(image_features, text_features, image_head, text_head):
    both = torch.cat([image_features, text_features], dim=0)
    return image_head(both)


def test_late_fusion_reference_passes():
    assert check("late_fusion", late_fusion)


def test_late_fusion_with_stack_and_mean_passes():
    def stacked(image_features, text_features, image_head, text_head):
        return torch.stack([image_head(image_features), text_head(text_features)]).mean(dim=0)

    assert check("late_fusion", stacked)


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (late_average_features, "average (or sum) of the two FEATURE vectors"),
        (late_average_features_both_heads, "averages the PREDICTIONS"),
        (late_swapped, "the heads are swapped"),
        (late_sum, "SUM of the logits"),
        (late_probs, "averaged the probabilities"),
        (late_image_only, "only one head was called"),
        (late_concat_logits, "average the two (B, C) logits elementwise"),
        (late_batch_axis, "stacked along the batch axis"),
    ],
)
def test_late_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("late_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


# --- gated_fusion --------------------------------------------------------------------


def gated_fusion(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_softmax_batch(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=0)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_sigmoid(image_h, text_h, gate_layer):
    gates = torch.sigmoid(gate_layer(torch.cat([image_h, text_h], dim=1)))
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_one_for_the_batch(image_h, text_h, gate_layer):
    logits = gate_layer(torch.cat([image_h, text_h], dim=1)).mean(dim=0)
    gates = torch.softmax(logits, dim=0)
    return torch.cat([gates[0] * image_h, gates[1] * text_h], dim=1), gates


def gated_from_batch_mean(image_h, text_h, gate_layer):
    both = torch.cat([image_h, text_h], dim=1).mean(dim=0, keepdim=True)
    gates = torch.softmax(gate_layer(both), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_expanded_batch_gate(image_h, text_h, gate_layer):
    logits = gate_layer(torch.cat([image_h, text_h], dim=1))
    gates = torch.softmax(logits.mean(dim=0, keepdim=True), dim=1).expand(len(image_h), 2)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_only_image_to_gate(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(image_h), dim=1)
    return torch.cat([gates[:, :1] * image_h, gates[:, 1:] * text_h], dim=1), gates


def gated_sum(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return gates[:, :1] * image_h + gates[:, 1:] * text_h, gates


def gated_swapped_weights(image_h, text_h, gate_layer):
    gates = torch.softmax(gate_layer(torch.cat([image_h, text_h], dim=1)), dim=1)
    return torch.cat([gates[:, 1:] * image_h, gates[:, :1] * text_h], dim=1), gates


def gated_no_gates_returned(image_h, text_h, gate_layer):
    return gated_fusion(image_h, text_h, gate_layer)[0]


def test_gated_fusion_reference_passes():
    assert check("gated_fusion", gated_fusion)


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (gated_softmax_batch, "softmax over dim=0, the batch"),
        (gated_sigmoid, "do not sum to 1"),
        (gated_one_for_the_batch, "one pair of weights for the whole batch"),
        (gated_from_batch_mean, "Gates must be PER SAMPLE"),
        (gated_expanded_batch_gate, "not per-sample"),
        (gated_only_image_to_gate, "received only one modality"),
        (gated_sum, "you ADDED the weighted vectors"),
        (gated_swapped_weights, "weighted by the TEXT gate"),
        (gated_no_gates_returned, "return two things, (fused, gates)"),
    ],
)
def test_gated_fusion_mistakes_get_their_hint(answer, fragment):
    with pytest.raises(ExerciseFailed) as failure:
        check("gated_fusion", answer)
    assert fragment in str(failure.value), str(failure.value)


def test_unfilled_stub_says_not_started():
    def stub(image_h, text_h, gate_layer):
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not written yet"):
        check("gated_fusion", stub)
