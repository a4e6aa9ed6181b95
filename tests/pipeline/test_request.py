"""The pipeline's request and build: convcli's own errors, with the field that is wrong, never Typer's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convcli.errors import ConfigError, ShapeError
from convcli.pipeline.build import build_layer
from convcli.pipeline.checks import check_request
from convcli.pipeline.request import Request, RequestError


@pytest.mark.parametrize(("request_", "field", "words"), [
    (Request("x.npy", bias="1", no_bias=True), "bias", "--bias and --no-bias contradict each other"),
    (Request("x.npy", model="m.keras"), "layer", "--model and --layer go together"),
    (Request("x.npy", layer="mid"), "model", "--layer names a layer of --model FILE"),
    (Request("x.npy", model="m.keras", layer="mid", filters=4, given=frozenset({"filters"})), "model",
     "--model gives the layer's kernel; --filters cannot be combined with it"),
    (Request("x.npy", bias_key="b"), "bias_key", "--bias-key names the bias array inside a .npz"),
    (Request("x.npy", bias="0.5", bias_key="b"), "bias_key", "--bias 0.5 is numbers"),
    (Request("x.npy", semantics="torch", padding="same", stride=2), "padding", "PyTorch refuses padding='same'"),
])
def test_options_that_cannot_go_together_are_request_errors_naming_their_field(request_: Request, field: str,
                                                                               words: str):
    with pytest.raises(RequestError) as exc:
        check_request(request_)
    assert isinstance(exc.value, ConfigError) and exc.value.exit_code == 2
    assert exc.value.field == field and words in exc.value.message


def test_the_spec_checks_the_options_before_any_data():
    with pytest.raises(RequestError, match="--groups 2 does not divide --filters 3"):
        check_request(Request("missing.npy", filters=3, groups=2))
    with pytest.raises(RequestError) as exc:
        check_request(Request("missing.npy", stride=0))
    assert exc.value.field == "stride"


def test_semantics_are_enforced_only_when_asked():
    check_request(Request("x.npy", semantics="torch", padding="same", stride=2), enforce_semantics=False)


def test_normalize_and_preprocess_together_are_refused_when_the_input_is_read(tmp_path: Path):
    np.save(tmp_path / "x.npy", np.ones((4, 4, 3), np.uint8))
    with pytest.raises(RequestError) as exc:
        build_layer(Request(tmp_path / "x.npy", normalize=True, preprocess="unit"))
    assert exc.value.field == "preprocess"


def test_a_build_from_a_request_reports_data_errors_naming_the_file(tmp_path: Path):
    np.save(tmp_path / "x4.npy", np.ones((5, 5, 4)))
    with pytest.raises(ShapeError, match=f"does not divide the 4 input channels of {tmp_path / 'x4.npy'}"):
        build_layer(Request(tmp_path / "x4.npy", filters=3, groups=3))


def test_a_kernel_file_and_its_bias_beside_it_build_the_layer(tmp_path: Path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((6, 6, 2)))
    np.savez(tmp_path / "w.npz", rng.standard_normal((3, 3, 2, 4)), np.arange(4.0))
    built = build_layer(Request(tmp_path / "x.npy", kernel=tmp_path / "w.npz"))
    assert built.kernel_source == f"{tmp_path / 'w.npz'} arr_0 (keras layout), bias arr_1"
    np.testing.assert_array_equal(built.bias, np.arange(4.0))
    assert built.notes == () and built.warnings == ()
