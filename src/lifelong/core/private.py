"""Private file modes: what lifelong keeps about data and traffic is for its owner only.

Feedback, ingested examples, the registry database and the model artifacts hold user texts
(or everything learnt from them), so their files are ``0600`` and their folders ``0700``,
whatever the umask. A mode given to ``mkdir`` or ``open`` is masked by the umask (it can only
remove bits), so the helpers set the mode explicitly with ``chmod`` after creating. Files
written by :mod:`lifelong.core.atomic` are private already: ``mkstemp`` creates them ``0600``
and the rename keeps that, which also tightens a looser file it replaces.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

log = logging.getLogger(__name__)


def make_private(path: Path) -> None:
    """Tighten an existing file to ``0600`` or folder to ``0700`` if others have any access.

    Only bits are removed (an owner-only mode is left as it is). Where the mode cannot be
    changed (a file of another user, a read-only file system) reading and writing still
    work, so that is a warning rather than an error.
    """
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & 0o077:
        return
    wanted = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
    try:
        os.chmod(path, current & wanted)
    except OSError as error:
        log.warning("%s: cannot make it private (mode %o): %s", path, current, error.strerror)


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """``path`` as a folder of lifelong's own: created ``0700`` with any missing parents.

    ``tighten`` also makes an existing ``path`` private; pass ``False`` for a folder a user
    may have chosen to share (the folder of a configured database file, say ``/tmp``), which
    is then only made private if lifelong creates it.
    """
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)  # exist_ok: another process may create it meanwhile
        make_private(folder)
    if tighten and not missing:
        make_private(path)
    return path
