"""SQL in the user's `$EDITOR`: written to a temporary file, the app suspended while
the editor runs, the file read back when it was writable.

A read-only file is made read-only on disk (mode 0444), so an editor warns before
a change that would be thrown away. Without an editor (none set, or a terminal
the app cannot hand over, as under Textual's test pilot) the app shows the SQL
in its own viewer instead (``screens/dialogs.SqlScreen``).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import tempfile
from pathlib import Path

#: characters a temporary file's name may keep from its title
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def editor_from_env(environ: dict[str, str] | None = None) -> str | None:
    """The editor command the user chose: ``$VISUAL``, else ``$EDITOR``, else None."""
    env = os.environ if environ is None else environ
    return env.get("VISUAL") or env.get("EDITOR") or None


def edit_file(command: str, title: str, text: str, *, writable: bool) -> str | None:
    """Run `command` on a file holding `text`; the file's text afterwards when
    `writable` (None when read-only). The caller has suspended the app."""
    name = _SAFE.sub("_", title).strip("_") or "pipekit"
    with tempfile.TemporaryDirectory(prefix="pipekit-") as folder:
        path = Path(folder) / f"{name}.sql"
        path.write_text(text, encoding="utf-8")
        if not writable:
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        subprocess.run([*shlex.split(command), str(path)], check=False)
        return path.read_text(encoding="utf-8") if writable else None
