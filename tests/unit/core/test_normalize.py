"""``normalize_text`` decides an example's identity and split: its definition must not drift."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from lifelong.core.types import normalize_text


@given(st.text())
def test_normalize_text_is_nfkc_casefold_with_white_space_collapsed(text: str) -> None:
    folded = unicodedata.normalize("NFKC", text).casefold()
    assert normalize_text(text) == re.sub(r"\s+", " ", folded).strip()
