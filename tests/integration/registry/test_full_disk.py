"""A really full disk: the registry on a tiny tmpfs, mounted in a private mount namespace.

Writes the disk refuses (an artifact bigger than the space left, snapshots until the database
can grow no more) are :class:`StorageError` naming the path, and the store stays whole: every
write that succeeded is there, nothing half-written is. Needs root (or mount rights) and
``unshare``; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

_CHILD = """
import json, sys
from pathlib import Path
from lifelong.core.errors import StorageError
from lifelong.core.types import Example
from lifelong.registry import open_registry

root, bundle = Path(sys.argv[1]), Path(sys.argv[2])
url = f"sqlite:///{root / 'registry.db'}"
seen = {"stored": 0, "errors": []}
with open_registry(url, root / "artifacts") as registry:
    first = registry.put_snapshot([Example.make("hi", "greet")]).id
    seen["stored"] += 1
    try:
        registry.register(bundle, snapshot_id=first, config={})
    except StorageError as error:
        seen["errors"].append(error.message)
    for i in range(10_000):
        texts = [f"snapshot {i} text {j} " + "x" * 2000 for j in range(20)]
        try:
            registry.put_snapshot([Example.make(t, "greet") for t in texts])
        except StorageError as error:
            seen["errors"].append(error.message)
            break
        seen["stored"] += 1
with open_registry(url, root / "artifacts", read_only=True) as registry:
    seen["after"] = len(registry.store.list_snapshots())
    seen["versions"] = len(registry.versions())
    seen["problems"] = registry.check()
seen["leftovers"] = sorted(p.name for p in (root / "artifacts").glob(".tmp-*"))
print(json.dumps(seen))
"""


def test_a_full_disk_is_a_clear_error_and_leaves_the_store_whole(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "weights.safetensors").write_bytes(os.urandom(2 << 20))  # more than the disk
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    mount = 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"'
    command = [sys.executable, "-c", _CHILD, str(disk), str(bundle)]
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", mount, str(disk), *command],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0 and "mount" in done.stderr and "Traceback" not in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr}")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    artifact, database = seen["errors"]
    assert artifact == f"cannot write {disk / 'artifacts'}: the disk is full"
    assert database.startswith(f"cannot write the registry database {disk / 'registry.db'}")
    assert "the disk is full" in database
    assert seen["stored"] > 1  # some snapshots fitted before the disk filled
    assert (seen["after"], seen["versions"]) == (seen["stored"], 0)
    assert seen["problems"] == []
    assert seen["leftovers"] == []
