"""Which files a connection may name: the one rule every file-based connection follows.

A SQLite or DuckDB URL, a JDBC URL that creates or writes a file, a local-file
connector, an ``ATTACH`` inside SQLite: all of them name a path on the server,
and the server's user can read and write far more than any connection is for
(the secrets file, the state database with the users' password hashes,
``/proc/self/environ``). ``check_path(path, policy)`` is the one answer to "may
a connection open this file?":

    >>> policy = FilePolicy(allowed=(Path("/srv/data"),), protected=(Path("/srv/state.db"),))
    >>> check_path("/srv/data/shop.db", policy)
    PosixPath('/srv/data/shop.db')
    >>> check_path("/srv/data/../state.db", policy)
    Traceback (most recent call last):
    pipekit.errors.PathNotAllowedError: ...

Symlinks and ``..`` are resolved before the comparison, so a link inside an
allowed folder that points outside it is refused. The policy comes from the
config (``files.allowed_directories``; ``Config.file_policy()``); with no
folders configured, files may be anywhere but the protected ones.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipekit.errors import PathNotAllowedError

__all__ = ["FilePolicy", "check_path", "loose_mode", "path_problem"]

#: files no connection may open, wherever the folders allow: they hold the environment
#: (secrets of the server's process) and the machine's accounts
_ALWAYS_PROTECTED = (Path("/proc"), Path("/sys"), Path("/dev"), Path("/etc/shadow"))


def _resolve(path: str | os.PathLike[str]) -> Path:
    # strict=False: a file a connection will create does not exist yet; its folder's
    # symlinks are resolved all the same
    return Path(path).expanduser().resolve(strict=False)


@dataclass(frozen=True)
class FilePolicy:
    """The folders file-based connections may use, and the files they never may.

    `allowed` empty means no folder limit (only `protected` files are refused);
    `protected` holds the state database, the secrets file and the config file.
    """

    allowed: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()

    @classmethod
    def make(
        cls, allowed: Iterable[str | os.PathLike[str]], protected: Iterable[str | os.PathLike[str]]
    ) -> FilePolicy:
        """A policy with every path resolved (symlinks, ``..``, ``~``)."""
        return cls(
            tuple(_resolve(p) for p in allowed),
            tuple(_resolve(p) for p in protected),
        )

    def protecting(self, *paths: str | os.PathLike[str]) -> FilePolicy:
        """This policy with more protected files (a store's own database, say)."""
        return FilePolicy(self.allowed, self.protected + tuple(_resolve(p) for p in paths))

    def sql_directories(self) -> list[str]:
        """The folders SQL inside an embedded database may read and write (DuckDB's
        ``allowed_directories``): the allowed folders less those holding a protected
        file, since such a folder cannot be opened to SQL without the file in it.
        None when no folders are configured."""
        return [
            f"{folder}{os.sep}"
            for folder in self.allowed
            if not any(p.is_relative_to(folder) for p in (*self.protected, *_ALWAYS_PROTECTED))
        ]


def path_problem(path: str | os.PathLike[str], policy: FilePolicy) -> str | None:
    """Why a connection may not open `path` under `policy`, or None when it may."""
    resolved = _resolve(path)
    for protected in (*policy.protected, *_ALWAYS_PROTECTED):
        if resolved == protected or resolved.is_relative_to(protected):
            what = "a file" if resolved == protected else f"inside {protected}, a folder"
            return (
                f"{path} is {what} Pipekit keeps to itself (state database, secrets, "
                "config or system files); point the connection at a database file of its own"
            )
    if policy.allowed and not any(resolved.is_relative_to(d) for d in policy.allowed):
        folders = ", ".join(str(d) for d in policy.allowed)
        shown = f"{path} (that is {resolved})" if str(resolved) != str(path) else str(path)
        return (
            f"{shown} is outside the folders database files may be in ({folders}); move the "
            "file into one of them, or add its folder to files.allowed_directories in the config"
        )
    return None


def check_path(path: str | os.PathLike[str], policy: FilePolicy, *, field: str = "url") -> Path:
    """`path` resolved, if a connection may open it; else ``PathNotAllowedError``
    (a ``ConnectionSpecError``) saying why and what to do, with `field` as its path.

    The one check for every file a connection names: SQLite and DuckDB URLs, JDBC
    URLs that create or write files, local file connectors, SQLite ``ATTACH``.
    """
    problem = path_problem(path, policy)
    if problem is not None:
        raise PathNotAllowedError(problem, path=field)
    return _resolve(path)


def loose_mode(path: str | os.PathLike[str], what: str) -> str | None:
    """What is wrong with `path`'s permissions when others than its owner may read or
    write it (the state database, the secrets file: they should be 0600), or None."""
    p = Path(path)
    if not p.exists():
        return None
    mode = stat.S_IMODE(p.stat().st_mode)
    if not mode & 0o077:
        return None
    return (
        f"{what} {p} has mode {mode:04o}: users of the group or others can open it; "
        f"run `chmod 600 {p}`"
    )
