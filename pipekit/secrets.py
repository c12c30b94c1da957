"""Secrets: a ``KEY=value`` file (mode 0600) and ``$VAR`` references to it.

Passwords are never stored in the state database or the YAML config: those hold
a reference such as ``$ERP_PW``. A reference resolves from the secrets file
first, then from the environment. Errors name the variable, never its value.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from pipekit.errors import SecretError
from pipekit.redact import remember

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REF_RE = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def is_reference(value: str | None) -> bool:
    """True when `value` is a ``$VAR`` or ``${VAR}`` reference."""
    return bool(value) and REF_RE.match(value) is not None  # type: ignore[arg-type]


def reference_name(value: str) -> str:
    """The variable name inside a reference; a clear error if it is not one."""
    m = REF_RE.match(value)
    if not m:
        raise SecretError(
            "a password must be given as a secret reference like '$ERP_PW' "
            "(store the value with `pipekit secrets set ERP_PW`), not as a literal"
        )
    return m.group(1) or m.group(2)


def check_key(key: str) -> str:
    if not KEY_RE.match(key):
        raise SecretError(
            f"invalid secret name {key!r}: use letters, digits and underscores, "
            "not starting with a digit (e.g. ERP_PW)"
        )
    return key


class SecretsFile:
    """The ``KEY=value`` file; written atomically, always with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        values: dict[str, str] = {}
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or not KEY_RE.match(key):
                # Name the line, not its content: the content may be a secret.
                raise SecretError(
                    f"{self.path}: line {n} is not KEY=value; fix or remove it "
                    "(values are not shown)"
                )
            values[key] = value
        # whatever this process reads is masked in every record, log line and error
        remember(values.values())
        return values

    def keys(self) -> list[str]:
        return sorted(self.read())

    def set(self, key: str, value: str) -> None:
        check_key(key)
        remember([value])
        if "\n" in value or "\r" in value:
            raise SecretError(f"the value of {key} contains a line break, which is not allowed")
        values = self.read()
        values[key] = value
        self._write(values)

    def remove(self, key: str) -> bool:
        values = self.read()
        if key not in values:
            return False
        del values[key]
        self._write(values)
        return True

    def _write(self, values: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("# Pipekit secrets. Managed by `pipekit secrets`; keep mode 0600.\n")
                for key in sorted(values):
                    fh.write(f"{key}={values[key]}\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def mode_problem(self) -> str | None:
        """A description of unsafe permissions, or None when they are fine."""
        if not self.path.exists():
            return None
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o037:  # group write/exec or any access for others
            return (
                f"{self.path} has mode {mode:04o}; secrets must not be readable by others: "
                f"run `chmod 600 {self.path}`"
            )
        return None


def resolve(value: str | None, secrets: SecretsFile | None) -> str | None:
    """Resolve a ``$VAR`` reference from the secrets file, then the environment."""
    if value is None or value == "":
        return None
    name = reference_name(value)
    stored = secrets.read() if secrets else {}
    if name in stored:
        return stored[name]
    if name in os.environ:
        remember([os.environ[name]])
        return os.environ[name]
    where = f" in {secrets.path}" if secrets else ""
    raise SecretError(
        f"secret ${name} is not set{where} nor in the environment; "
        f"set it with `pipekit secrets set {name}` or export {name}"
    )
