"""ConvcliError's wording: the library names fields, the caller's names fill the placeholders."""

from __future__ import annotations

from convcli.cli.app import FLAGS
from convcli.errors import ConvcliError, SaveError

NAMES = {"stride": "--stride", "init": "--init", "kernel_size": "--kernel-size", "force": "--force"}


def test_the_first_field_placeholder_is_filled_and_a_bare_message_is_prefixed():
    exc = ConvcliError("{field} must be ≥ 1, got 0; not {field}", field="stride")
    assert exc.worded(NAMES) == "--stride must be ≥ 1, got 0; not {field}"
    assert str(exc) == "stride must be ≥ 1, got 0; not {field}"
    bare = ConvcliError("must be ≥ 1", field="stride")
    assert bare.worded(NAMES) == "--stride: must be ≥ 1" and str(bare) == "must be ≥ 1"
    assert ConvcliError("plain {text}").worded(NAMES) == "plain {text}"


def test_a_second_field_is_worded_by_its_own_name():
    exc = ConvcliError("{field} sobel-x is 3×3, but {also} is 5×5", field="init", also="kernel_size")
    assert exc.worded(NAMES) == "--init sobel-x is 3×3, but --kernel-size is 5×5"
    assert str(exc) == "init sobel-x is 3×3, but kernel_size is 5×5"
    # only declared slots are filled: outside text in an older f-string message stays as it is
    legacy = ConvcliError("{field} layer 1 ('conv {also} {target}'): bad", field="stride")
    assert legacy.worded(NAMES) == "--stride layer 1 ('conv {also} {target}'): bad"


def test_values_go_before_the_placeholder_and_are_never_read_for_placeholders():
    exc = SaveError("{target} exists; pass {field} to replace it", field="force",
                    values={"target": "odd {field} {target} {also}.png"})
    assert exc.worded(NAMES) == "odd {field} {target} {also}.png exists; pass --force to replace it"
    assert str(exc) == "odd {field} {target} {also}.png exists; pass force to replace it"


def test_flags_name_every_field_the_library_words():
    from convcli.layer import stack
    from convcli.render import explain

    for field in ("force", "step", "stack", "input_size", "max_pixels", "key", "kernel_key", "init"):
        assert FLAGS[field] == "--" + field.replace("_", "-") or field == "kernel_size"
    try:
        explain.lesson("en", 9)
    except ConvcliError as exc:
        assert exc.worded(FLAGS) == "--step must be 1 to 7, got 9" and str(exc) == "step must be 1 to 7, got 9"
    else:
        raise AssertionError("step 9 was accepted")
    try:
        stack.parse_stack(" ")
    except ConvcliError as exc:
        assert exc.worded(FLAGS) == "--stack is empty; e.g. --stack 'conv 32 k3 s2, dw k3, conv 64 k1'"
        assert str(exc) == "stack is empty; e.g. stack 'conv 32 k3 s2, dw k3, conv 64 k1'"
    else:
        raise AssertionError("an empty stack was accepted")
    try:
        stack.build_stack(stack.parse_stack("conv 8"), (8, 8))
    except ConvcliError as exc:
        assert exc.worded(FLAGS) == "--stack needs --input-size H,W,C; got 8,8"
    else:
        raise AssertionError("a 2-value input size was accepted")
