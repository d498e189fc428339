"""Keyed text hashes and their secret: HMAC-SHA256, one key per project, never overwritten."""

from __future__ import annotations

import hashlib
import hmac
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifelong.core.errors import ConfigError
from lifelong.core.hashing import TextHasher, sha256_text
from lifelong.core.secret import HASH_SECRET_ENV, SECRET_FILE, hash_secret


@given(key=st.binary(max_size=200), text=st.text())
def test_text_hasher_is_hmac_sha256(key: bytes, text: str) -> None:
    expected = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    assert TextHasher(key)(text) == expected
    assert TextHasher(key)(text) != sha256_text(text)


def test_the_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    state = tmp_path / ".lifelong"
    key = hash_secret(state, env={})
    path = state / SECRET_FILE
    assert len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(state.stat().st_mode) & 0o077 == 0
    assert hash_secret(state, env={}) == key  # a second process reads the same key
    assert repr(key) not in repr(TextHasher(key))


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    state = tmp_path / ".lifelong"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: hash_secret(state, env={}), range(16)))
    assert len(keys) == 1
    assert [p.name for p in state.iterdir()] == [SECRET_FILE]  # no temporary files left


def test_two_projects_hash_the_same_text_differently(tmp_path: Path) -> None:
    first = TextHasher(hash_secret(tmp_path / "a" / ".lifelong", env={}))
    second = TextHasher(hash_secret(tmp_path / "b" / ".lifelong", env={}))
    assert first("hello") != second("hello")


def test_the_environment_replaces_the_file(tmp_path: Path) -> None:
    shared = "one secret for every machine of the store"
    env = {HASH_SECRET_ENV: shared}
    assert hash_secret(tmp_path / "a", env) == hash_secret(tmp_path / "b", env) == shared.encode()
    assert not (tmp_path / "a").exists()  # no file made when the variable decides
    made = hash_secret(tmp_path / "c", env={})
    assert hash_secret(tmp_path / "d", env={HASH_SECRET_ENV: made.decode() + "\n"}) == made


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"{HASH_SECRET_ENV}: .* 5 characters") as caught:
        hash_secret(tmp_path, env={HASH_SECRET_ENV: "short"})
    assert caught.value.hint is not None
    (tmp_path / SECRET_FILE).write_text("\n")
    with pytest.raises(ConfigError, match=r"secret: the secret for text hashes has 0 characters"):
        hash_secret(tmp_path, env={})


def test_a_copied_in_secret_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / SECRET_FILE
    path.write_text("0123456789abcdef0123456789abcdef\n")
    path.chmod(0o644)
    assert hash_secret(tmp_path, env={}) == b"0123456789abcdef0123456789abcdef"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
