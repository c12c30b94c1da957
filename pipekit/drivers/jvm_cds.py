"""Class-data sharing (AppCDS) for the JDBC bridge's JVM: a faster first read.

Each run of the server is a process of its own, so each JDBC run starts a JVM and
loads, verifies and links some 3,000 classes (the JDK's, Arrow's, the jar's) while it
reads. A CDS archive holds them already parsed and verified, mapped from one file
(measured in ``docs/benchmarks.md``, "JDBC read").

The archive is Pipekit's to manage, in ``jdbc.class_cache`` (a folder), keyed by
everything that makes an archive valid: the JVM (its library and class image), the
class path (each jar's path, size and time) and the JVM's options. For one key:

1. a JVM starting without an archive records the classes it loads
   (``-XX:DumpLoadedClassList``);
2. when its first read has ended, the list is copied beside the archive's place and a
   background process (``nice``, a session of its own) dumps the archive from it
   (``java -Xshare:dump``), checks that a JVM maps it, and puts it in place with its
   size in a ``.ok`` file (a failed build leaves a ``.failed`` mark instead, and is
   not tried again for a day);
3. every later JVM with that key starts with ``-XX:SharedArchiveFile``.

Nothing here may fail a run: every step gives up silently (logged at DEBUG on
``pipekit.drivers.jvm``) when a folder is unwritable, Java's launcher is missing or
a dump fails. A JVM mapping a truncated archive dies of SIGBUS, so an archive is
used only when its size is the one the builder checked; a changed byte with the same
size is caught by the JVM itself (``-XX:+VerifySharedSpaces``: it then runs without
sharing).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("pipekit.drivers.jvm")

#: how the files of one key are named in the cache folder
ARCHIVE, CLASSLIST, CHECKED, BUILDING = ".jsa", ".classlist", ".ok", ".building"
#: a build of this key failed: not tried again for FAILED_RETRY_S
FAILED = ".failed"
FAILED_RETRY_S = 86_400
#: a build lock older than this is from a builder that died
STALE_BUILD_S = 600
#: files of other keys untouched for this long are removed when a new archive is built
PRUNE_AFTER_S = 14 * 86_400


@dataclass(frozen=True)
class Plan:
    """What one JVM start does about class-data sharing: its extra options, and
    (when recording) where the class list goes and what a build will need."""

    options: tuple[str, ...]
    folder: Path | None = None
    key: str = ""
    recording: Path | None = None

    @property
    def uses_archive(self) -> bool:
        return any(o.startswith("-XX:SharedArchiveFile=") for o in self.options)


NONE = Plan(())


def java_home(libjvm: str) -> Path:
    """The Java home of a JVM library (``<home>/lib/server/libjvm.so``)."""
    return Path(libjvm).resolve().parent.parent.parent


def archive_key(libjvm: str, classpath: Sequence[str], options: Sequence[str]) -> str:
    """Everything an archive is valid for: the JVM, its class image, each jar (path,
    size, modification time) in order, and the JVM's options."""
    parts: list[str] = []
    home = java_home(libjvm)
    for path in [libjvm, str(home / "lib" / "modules"), *classpath]:
        try:
            st = os.stat(path)
            parts.append(f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:missing")
    parts.extend(options)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def plan(
    folder: Path | None, libjvm: str, classpath: Sequence[str], options: Sequence[str]
) -> Plan:
    """The CDS options of a JVM about to start (none when `folder` is None or unusable)."""
    if folder is None:
        return NONE
    if os.pathsep in str(folder.resolve()):
        # -XX:SharedArchiveFile reads a path list: such a folder cannot be named in it
        log.debug("class cache %s has %r in its path: no class-data sharing", folder, os.pathsep)
        return NONE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            log.debug("class cache %s is not writable: no class-data sharing", folder)
            return NONE
        key = archive_key(libjvm, classpath, options)
        archive = folder / (key + ARCHIVE)
        if _checked(archive, folder / (key + CHECKED)):
            return Plan(
                (
                    f"-XX:SharedArchiveFile={archive}",
                    "-XX:+VerifySharedSpaces",
                    "-Xshare:auto",
                ),
                folder,
                key,
            )
        if _failed_recently(folder / (key + FAILED)):
            return NONE
        recording = folder / f"{key}.{os.getpid()}.recording"
        return Plan((f"-XX:DumpLoadedClassList={recording}",), folder, key, recording)
    except OSError as exc:
        log.debug("class cache %s unusable: %s", folder, exc)
        return NONE


def _failed_recently(marker: Path) -> bool:
    """Whether a build of this key failed less than FAILED_RETRY_S ago (a full disk
    may have been freed since, so an older failure is tried again)."""
    try:
        return time.time() - marker.stat().st_mtime < FAILED_RETRY_S
    except OSError:
        return False


def _checked(archive: Path, checked: Path) -> bool:
    """Whether `archive` is the file its builder checked (same size)."""
    try:
        expected = json.loads(checked.read_text())["size"]
        return bool(archive.stat().st_size == int(expected))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def save_classlist(p: Plan) -> Path | None:
    """Copy the classes recorded so far (whole lines only: the JVM is still writing)
    to ``<key>.classlist``, atomically; the path, or None."""
    if p.recording is None or p.folder is None:
        return None
    try:
        data = p.recording.read_bytes()
        data = data[: data.rfind(b"\n") + 1]
        if not data:
            return None
        target = p.folder / (p.key + CLASSLIST)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target
    except OSError as exc:
        log.debug("could not keep the class list %s: %s", p.recording, exc)
        return None


def start_build(p: Plan, libjvm: str, classpath: str, options: Sequence[str]) -> bool:
    """Save the class list and start the background build of the archive (unless one
    runs already); whether a builder was started."""
    classlist = save_classlist(p)
    if classlist is None or p.folder is None or _failed_recently(p.folder / (p.key + FAILED)):
        return False
    lock = p.folder / (p.key + BUILDING)
    try:
        if lock.exists() and time.time() - lock.stat().st_mtime > STALE_BUILD_S:
            lock.unlink(missing_ok=True)
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
    except OSError:
        return False  # another process builds it
    command = [
        sys.executable,
        "-m",
        "pipekit.drivers.jvm_cds",
        str(p.folder),
        p.key,
        libjvm,
        classpath,
        *options,
    ]
    nice = shutil.which("nice")
    try:
        subprocess.Popen(
            [nice, "-n", "10", *command] if nice else command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a cancelled run's process
            close_fds=True,
        )
    except OSError as exc:
        log.debug("could not start the class archive build: %s", exc)
        lock.unlink(missing_ok=True)
        return False
    return True


def build(folder: Path, key: str, libjvm: str, classpath: str, options: Sequence[str]) -> bool:
    """Dump the archive of `key` from its class list, check that a JVM maps it, and
    put it in place; whether it is in place. Removes the build lock in any case."""
    lock = folder / (key + BUILDING)
    archive = folder / (key + ARCHIVE)
    tmp = folder / f"{key}.{os.getpid()}{ARCHIVE}.tmp"
    java = java_home(libjvm) / "bin" / "java"
    done = False
    try:
        if not java.is_file():
            log.debug("no Java launcher at %s: no class archive", java)
            return False
        base = [str(java), *options, "-cp", classpath]
        dump = subprocess.run(
            [
                *base,
                "-Xshare:dump",
                f"-XX:SharedClassListFile={folder / (key + CLASSLIST)}",
                f"-XX:SharedArchiveFile={tmp}",
                "-Xlog:cds=off",
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
        if dump.returncode != 0 or not tmp.is_file():
            log.debug("class archive dump failed: %s", dump.stderr.decode(errors="replace"))
            return False
        # -Xshare:on: the JVM fails instead of running without the archive
        check = [*base, f"-XX:SharedArchiveFile={tmp}", "-Xshare:on", "-XX:+VerifySharedSpaces"]
        probe = subprocess.run([*check, "-version"], capture_output=True, timeout=60, check=False)
        if probe.returncode != 0:
            log.debug("class archive unusable: %s", probe.stderr.decode(errors="replace"))
            return False
        size = tmp.stat().st_size
        os.replace(tmp, archive)
        checked = folder / (key + CHECKED)
        checked_tmp = checked.with_name(f"{checked.name}.{os.getpid()}.tmp")
        checked_tmp.write_text(json.dumps({"size": size, "built": time.time()}))
        os.replace(checked_tmp, checked)
        prune(folder, keep=key)
        done = True
        return True
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("class archive build failed: %s", exc)
        return False
    finally:
        if not done:
            # so that each later process does not pay for the same failing build
            with contextlib.suppress(OSError):
                (folder / (key + FAILED)).touch()
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            lock.unlink(missing_ok=True)


def prune(folder: Path, keep: str) -> None:
    """Remove files of other keys not touched for PRUNE_AFTER_S (jars or JVMs that
    changed), and recordings of processes long gone."""
    now = time.time()
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            age = now - path.stat().st_mtime
            if path.name.endswith(".recording") and age > 86_400:
                path.unlink()  # its process died before its first read ended
            elif not path.name.startswith(keep + ".") and age > PRUNE_AFTER_S:
                path.unlink()


def main(argv: Sequence[str]) -> int:
    folder, key, libjvm, classpath, *options = argv
    return 0 if build(Path(folder), key, libjvm, classpath, options) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
