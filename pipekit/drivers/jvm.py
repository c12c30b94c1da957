"""The one Java virtual machine of a process, for the JDBC bridge (``drivers/jdbc.py``).

A JVM cannot be stopped and started again inside a process, so it is started
once, lazily, on the first JDBC connection, with:

- the heap bounded by ``jdbc.max_heap`` (``-Xmx``, from the bootstrap config, which
  ``configure`` receives from the engine and the services);
- on its class path, jaydebeapiarrow's Java extension (ResultSet -> Arrow batches
  inside the JVM), the jars of the built-in JDBC profiles found on this machine
  (Debian's ``/usr/share/java``), every jar under ``driver_dir`` and the jars
  passed to ``configure``.

Where ``jdbc.class_cache`` names a folder, the JVM starts from a class-data sharing
archive of the classes an earlier process loaded, or records them so one is built in
the background after its first read (``jvm_cds.py``).

A jar that is not on that class path (registered after the JVM started, or
outside those folders) is still used: its driver class is loaded through a
``URLClassLoader`` of its own and connected directly (``Driver.connect``), not
through ``DriverManager``. The limit is the JVM's settings: a changed
``jdbc.max_heap`` takes effect in the next process (the server's run workers
are new processes).

Nothing here imports JPype until a JVM is needed, so ``pipekit --help`` and the
other kinds never pay for it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipekit.drivers import jvm_cds
from pipekit.errors import DriverMissingError

log = logging.getLogger("pipekit.drivers.jvm")

#: what to install when no Java runtime is found
JAVA_HINT = (
    "install a Java runtime (Debian/Ubuntu: `apt-get install default-jdk-headless`) "
    "or point JAVA_HOME at one"
)
DEFAULT_MAX_HEAP = "256m"


@dataclass
class JvmSettings:
    """What the JVM starts with; changed by ``configure`` until it has started."""

    max_heap: str = DEFAULT_MAX_HEAP
    driver_dir: Path | None = None
    classpath: list[str] = field(default_factory=list)
    #: folder of class-data sharing archives (None: none are used or built)
    class_cache: Path | None = None


_settings = JvmSettings()
_lock = threading.Lock()
_loaders: dict[tuple[str, ...], Any] = {}
#: loggers silenced (held: java.util.logging keeps only weak references to them)
_quiet: list[Any] = []
#: what the running JVM does about class-data sharing, and its options
_cds = jvm_cds.NONE
_cds_args: list[str] = []
_cds_pending = False


def configure(
    *,
    max_heap: str | None = None,
    driver_dir: str | Path | None = None,
    classpath: Iterable[str] = (),
    class_cache: str | Path | Literal[False] | None = None,
) -> None:
    """Set the heap limit, the jar folder, extra jars and the class-data sharing folder
    (False: none) for the JVM this process will start. After the JVM has started,
    only jars can still be used (through their own class loader); the rest waits for
    the next process."""
    if max_heap is not None:
        _settings.max_heap = max_heap
    if driver_dir is not None:
        _settings.driver_dir = Path(driver_dir)
    if class_cache is False:
        _settings.class_cache = None
    elif class_cache is not None:
        _settings.class_cache = Path(class_cache)
    for jar in classpath:
        if jar not in _settings.classpath:
            _settings.classpath.append(jar)


def settings() -> JvmSettings:
    return _settings


def java_path() -> str | None:
    """The JVM library JPype would load, or None when no Java runtime is found."""
    try:
        import jpype
    except ImportError:
        return None
    try:
        return str(jpype.getDefaultJVMPath())
    except Exception:  # JVMNotFoundException, or a JAVA_HOME pointing nowhere
        return None


def java_found() -> bool:
    return java_path() is not None


def started() -> bool:
    try:
        import jpype
    except ImportError:
        return False
    return bool(jpype.isJVMStarted())


def arrow_extension_jars() -> list[str]:
    """jaydebeapiarrow's Java extension: ResultSet -> Arrow record batches in the JVM."""
    import jaydebeapiarrow

    folder = Path(jaydebeapiarrow.__file__).parent / "lib"
    return sorted(glob.glob(str(folder / "arrow-jdbc-extension*.jar")))


def driver_dir_jars() -> list[str]:
    if _settings.driver_dir is None or not _settings.driver_dir.is_dir():
        return []
    return sorted(str(p) for p in _settings.driver_dir.rglob("*.jar"))


def ensure_started(jars: Sequence[str] = ()) -> None:
    """Start the JVM if this process has none yet (with `jars` on its class path too)."""
    import jpype
    import jpype.config

    with _lock:
        if jpype.isJVMStarted():
            if not jpype.java.lang.Thread.isAttached():
                jpype.java.lang.Thread.attach()
            return
        path = java_path()
        if path is None:
            raise DriverMissingError(f"JDBC needs Java, which was not found: {JAVA_HINT}")
        from pipekit.drivers.jdbc_dialect import builtin_jars

        classpath: list[str] = []
        for jar in [
            *arrow_extension_jars(),
            *builtin_jars(),
            *driver_dir_jars(),
            *_settings.classpath,
            *jars,
        ]:
            if jar not in classpath and os.path.exists(jar):
                classpath.append(jar)
        args = [
            f"-Xmx{_settings.max_heap}",
            # Arrow's Java memory needs reflective access to java.nio on Java 9+
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "-Dfile.encoding=UTF-8",
            # Arrow's allocator logs at INFO on stdout through slf4j-simple
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Djava.awt.headless=true",
            # one reader thread and a small heap: the serial collector starts and warms
            # up faster than G1 and holds less (measured: first 1M-row read 4.03 s and
            # 271 MB against 4.75 s and 336 MB; bench/jdbc_read.py)
            "-XX:+UseSerialGC",
        ]
        global _cds, _cds_args, _cds_pending
        _cds = jvm_cds.plan(_settings.class_cache, path, classpath, args)
        _cds_args = args
        _cds_pending = _cds.recording is not None
        log.debug(
            "starting the JVM %s with %s and class path %s", path, [*args, *_cds.options], classpath
        )
        jpype.startJVM(path, *args, *_cds.options, classpath=classpath, convertStrings=False)
        # At exit, do not wait for the JVM to wind down: DestroyJavaVM waits for every
        # thread that ever called into Java (the engine's read-ahead thread), and so
        # never returns; the drivers have closed their connections by then.
        jpype.config.destroy_jvm = False
        jpype.config.onexit = False
        atexit.register(_stop_reference_queue)
        # The Arrow extension logs each fallback it takes (a stack trace per value) on
        # stderr through java.util.logging; its errors still raise.
        Level = jpype.JClass("java.util.logging.Level")
        Logger = jpype.JClass("java.util.logging.Logger")
        _quiet.append(Logger.getLogger("org.jaydebeapiarrow"))
        _quiet[-1].setLevel(Level.SEVERE)


def _stop_reference_queue() -> None:
    """At exit, before the interpreter finalizes: stop JPype's reference queue.

    Its Java thread calls into Python to release what Java held; if it does so while
    the interpreter finalizes, Python ends it with ``pthread_exit`` inside JPype's C++
    frames and the process aborts ("FATAL: exception not rethrown", exit 134) after
    its work is done — 10 to 16 of 150 short JDBC processes on 2 busy cores, none of
    150 with the queue stopped here (the soak's exit loop checks it)."""
    import jpype

    with contextlib.suppress(Exception):  # the process is ending either way
        jpype.JClass("org.jpype.ref.JPypeReferenceQueue").getInstance().stop()


def read_done() -> None:
    """Called when a read has ended: after the first of a JVM that recorded its
    classes, start building the archive later processes will start from. Never
    raises: class-data sharing only ever makes a run faster."""
    global _cds_pending
    if not _cds_pending:
        return
    _cds_pending = False
    try:
        import jpype

        classpath = str(jpype.java.lang.System.getProperty("java.class.path"))
        started = jvm_cds.start_build(_cds, java_path() or "", classpath, _cds_args)
        log.debug("class archive build %s", "started" if started else "not started")
    except Exception:
        log.debug("class archive build not started", exc_info=True)
    finally:
        if _cds.recording is not None:
            # the JVM keeps writing to it, unlinked, until it exits
            with contextlib.suppress(OSError):
                _cds.recording.unlink(missing_ok=True)


def sharing() -> str:
    """How this process's JVM uses class-data sharing: ``archive`` (started from
    one), ``recording`` (building one after its first read), ``off``."""
    if _cds.uses_archive:
        return "archive"
    return "recording" if _cds.recording is not None else "off"


def on_classpath(jar: str) -> bool:
    """Whether `jar` was on the class path the JVM started with."""
    import jpype

    cp = str(jpype.java.lang.System.getProperty("java.class.path")).split(os.pathsep)
    return os.path.realpath(jar) in {os.path.realpath(p) for p in cp}


def load_class(name: str, jars: Sequence[str]) -> Any:
    """The Java class `name`: from the JVM's class path, or else from `jars` through a
    class loader of their own (cached, so a driver class loads once per process)."""
    import jpype

    Class = jpype.JClass("java.lang.Class")
    missing = [j for j in jars if not on_classpath(j)]
    if not missing:
        return Class.forName(name)
    key = tuple(missing)
    with _lock:
        loader = _loaders.get(key)
        if loader is None:
            URL = jpype.JClass("java.net.URL")
            urls = jpype.JArray(URL)([jpype.java.io.File(j).toURI().toURL() for j in missing])
            system = jpype.java.lang.ClassLoader.getSystemClassLoader()
            loader = jpype.JClass("java.net.URLClassLoader")(urls, system)
            _loaders[key] = loader
    return Class.forName(name, True, loader)
