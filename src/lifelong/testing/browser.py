"""Where Debian's Chromium is and how to start it headless here, for the dashboard's browser
tests and screenshots.

Browser downloads are impossible on the machines this runs on, so Playwright is pointed at the
system's Chromium. ``--no-sandbox`` is needed as root; the background-networking flags stop it
from calling home, which a closed network answers with refused connections.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
