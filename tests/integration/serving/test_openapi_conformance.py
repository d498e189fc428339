"""The OpenAPI document says what the server does: schemathesis ``--checks all`` against a real
server, once without credentials and once with each security scheme's token.

Schemathesis generates requests from ``/openapi.json`` (valid ones, and ones that break the
schema) and checks every answer against it: a status the document does not list, a body that
does not match its schema, a valid request refused (``positive_data_acceptance``), an invalid
one accepted (``negative_data_rejection``), a 5xx, a secured route answering without its token
(``ignored_auth``), a method the document does not list answered other than 405. The tokens go
to the schemes the document names: the admin token for ``HTTPBearer`` (``/admin/*``,
``/models``), the feedback token for ``FeedbackToken`` (``/feedback``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN, FEEDBACK_TOKEN = "integration-token", "integration-feedback-token"  # conftest's


@pytest.fixture(scope="module", autouse=True)
def _schemathesis() -> None:
    """The dev extra pins it; without it the test is skipped, except under CI, where it fails."""
    if importlib.util.find_spec("schemathesis") is None:
        if os.environ.get("CI"):
            pytest.fail("schemathesis missing: install the dev extra")
        pytest.skip("schemathesis missing (the dev extra)")


def _run(server: Any, tmp_path: Path, *, auth: bool) -> subprocess.CompletedProcess[str]:
    """``schemathesis run --checks all``, bounded (40 examples an operation, fixed seed: some
    20 s on 2 cores), with the tokens given to their security schemes when ``auth``."""
    command = [sys.executable, "-m", "schemathesis.cli"]
    if auth:
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            f'[auth.openapi.HTTPBearer]\nbearer = "{TOKEN}"\n\n'
            f'[auth.openapi.FeedbackToken]\nbearer = "{FEEDBACK_TOKEN}"\n'
        )
        command += ["--config-file", str(config)]
    command += [
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "40",
        "--seed",
        "17",
        "--workers",
        "1",
        "--no-color",
        "--request-timeout",
        "10",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def _answers(server: Any) -> Counter[tuple[str, str]]:
    """``lifelong_requests_total`` by (route, status), read from ``/metrics``."""
    found: Counter[tuple[str, str]] = Counter()
    text = httpx.get(f"{server.url}/metrics").text
    for route, status, count in re.findall(
        r'^lifelong_requests_total\{route="([^"]*)",status="(\d+)"\} (\d+)', text, re.MULTILINE
    ):
        found[(route, status)] = int(count)
    return found


SECURED = ("/admin/promote", "/admin/rollback", "/admin/reload", "/feedback")


@pytest.mark.parametrize("auth", [False, True], ids=["anonymous", "tokens"])
def test_schemathesis_checks_all_pass(fuzzed_server: Any, tmp_path: Path, auth: bool) -> None:
    before = _answers(fuzzed_server)
    done = _run(fuzzed_server, tmp_path, auth=auth)
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-4000:]
    answered = _answers(fuzzed_server) - before
    # the secured routes were reached: refused without their tokens, handled with them (a
    # rollback with nothing to roll back is the registry's 409)
    for route in SECURED:
        assert answered[(route, "401")] > 0, (route, answered)
        handled = answered[(route, "200")] + answered[(route, "409")]
        assert (handled > 0) is auth, (route, answered)
    assert answered[("/predict", "200")] > 0
    assert answered[("/model/parse", "200")] > 0
