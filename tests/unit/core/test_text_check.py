"""The one check of what strings the system can take in, shared by serving and data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lifelong.core.text_check import text_problem, value_problem
from lifelong.core.types import Example

ANY_CODE_POINT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)


@given(ANY_CODE_POINT)
def test_a_text_passes_exactly_when_it_can_be_encoded_hashed_and_stored(text: str) -> None:
    problem = text_problem(text)
    try:
        text.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    assert (problem is None) == (encodable and "\x00" not in text)
    if problem is None:
        assert len(Example.make(text or "x", "intent").hash) == 64


def test_the_message_names_the_code_point_and_its_position() -> None:
    assert text_problem("héllo \udc80!") == (
        "invalid Unicode (lone surrogate U+DC80 at position 6)"
    )
    assert text_problem("ok\x00") == "contains a NUL character (U+0000 at position 2)"
    assert text_problem("") is None


def test_nested_values_name_the_path() -> None:
    assert value_problem({"a": 1, "b": ["x", {"c": "\ud800"}]}, "meta") == (
        "meta.b[1].c: invalid Unicode (lone surrogate U+D800 at position 0)"
    )
    assert value_problem({"\x00": 1}, "meta") == (
        "meta: a key contains a NUL character (U+0000 at position 0)"
    )
    assert value_problem({"a": [1, 2.5, None, True]}, "meta") is None
