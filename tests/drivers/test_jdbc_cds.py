"""Class-data sharing for the JDBC bridge's JVM (``drivers/jvm_cds.py``), for real:
each JVM is a child process of its own (a process has one JVM), reading an in-memory
HSQLDB database through the bridge.

The first process records its classes and a background process builds the archive;
later processes start from it. An archive that is corrupt, truncated or unchecked,
a cache folder that cannot be created and a build that fails never break a read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipekit import config as config_module
from pipekit.drivers import jvm, jvm_cds

CHILD = """
import json, sys
from pipekit.drivers import connect, jvm
jvm.configure(class_cache=sys.argv[1])
d = connect("jdbc:hsqldb:mem:cds", user="SA")
sql = "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(i, s)"
rows = d.read(sql).read_all().to_pylist()
print(json.dumps({"rows": rows, "sharing": jvm.sharing()}))
"""
ROWS = [{"I": 1, "S": "a"}, {"I": 2, "S": "b"}]


def child(cache: Path, class_log: Path | None = None) -> dict[str, object]:
    """One JDBC read in a new process with `cache` as its class cache."""
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)
    if class_log is not None:
        # which classes came from an archive ("source: shared objects file")
        env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={class_log}"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def wait_for_build(cache: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while list(cache.glob("*" + jvm_cds.BUILDING)):
        assert time.monotonic() < deadline, "the class archive build did not end"
        time.sleep(0.3)


def shared_classes(class_log: Path, prefix: str) -> int:
    return sum(
        1
        for line in class_log.read_text().splitlines()
        if f" {prefix}" in line and "source: shared objects file" in line
    )


def only(cache: Path, suffix: str) -> Path:
    found = list(cache.glob("*" + suffix))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder after the first process: its archive built in the background."""
    cache = tmp_path_factory.mktemp("cds") / "cache"
    first = child(cache)
    assert first == {"rows": ROWS, "sharing": "recording"}
    wait_for_build(cache)
    return cache


def test_the_first_process_records_and_later_ones_start_from_the_archive(
    built: Path, tmp_path: Path
) -> None:
    archive = only(built, jvm_cds.ARCHIVE)
    checked = json.loads(only(built, jvm_cds.CHECKED).read_text())
    assert checked["size"] == archive.stat().st_size > 1_000_000
    # the recording was the first process's; nothing of the build is left behind
    assert not list(built.glob("*.recording")) and not list(built.glob("*.tmp"))
    assert not list(built.glob("*" + jvm_cds.FAILED))
    cache = tmp_path / "cache"
    shutil.copytree(built, cache)
    class_log = tmp_path / "classes.log"
    assert child(cache, class_log) == {"rows": ROWS, "sharing": "archive"}
    # the bridge's own classes (Arrow, the jar's) come from the archive, not the JDK's only
    assert shared_classes(class_log, "org.apache.arrow.") > 100
    assert shared_classes(class_log, "org.hsqldb.") > 10


def test_a_corrupt_archive_of_the_right_size_is_refused_by_the_jvm(
    built: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(built, cache)
    archive = only(cache, jvm_cds.ARCHIVE)
    archive.chmod(0o644)
    with archive.open("r+b") as f:
        f.seek(archive.stat().st_size // 2)
        f.write(b"\xff" * 4096)
    class_log = tmp_path / "classes.log"
    assert child(cache, class_log) == {"rows": ROWS, "sharing": "archive"}
    assert shared_classes(class_log, "org.apache.arrow.") == 0  # -XX:+VerifySharedSpaces


@pytest.mark.parametrize("damage", ["truncated", "unchecked"])
def test_a_truncated_or_unchecked_archive_is_not_mapped_and_is_built_again(
    built: Path, tmp_path: Path, damage: str
) -> None:
    # a JVM mapping a truncated archive dies of SIGBUS, with the Python process around it
    cache = tmp_path / "cache"
    shutil.copytree(built, cache)
    archive = only(cache, jvm_cds.ARCHIVE)
    if damage == "truncated":
        archive.chmod(0o644)
        os.truncate(archive, archive.stat().st_size // 3)
    else:
        only(cache, jvm_cds.CHECKED).unlink()
    assert child(cache) == {"rows": ROWS, "sharing": "recording"}
    wait_for_build(cache)
    archive = only(cache, jvm_cds.ARCHIVE)
    assert json.loads(only(cache, jvm_cds.CHECKED).read_text())["size"] == archive.stat().st_size
    assert child(cache) == {"rows": ROWS, "sharing": "archive"}


def test_a_cache_folder_that_cannot_be_made_turns_sharing_off(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert child(blocker / "cache") == {"rows": ROWS, "sharing": "off"}
    # -XX:SharedArchiveFile takes a path list: a folder with the separator is not used
    libjvm = jvm.java_path()
    assert libjvm is not None
    assert jvm_cds.plan(tmp_path / f"a{os.pathsep}b", libjvm, [], []) == jvm_cds.NONE


def test_a_failed_build_leaves_no_archive_and_is_not_tried_again(tmp_path: Path) -> None:
    libjvm = jvm.java_path()
    assert libjvm is not None
    cache = tmp_path / "cache"
    options = ["-XX:+NoSuchOptionAnywhere"]  # the dump's JVM refuses to start
    plan = jvm_cds.plan(cache, libjvm, [], options)
    assert plan.recording is not None and not plan.uses_archive
    plan.recording.write_text("java/lang/Object\njava/lang/String\n")
    (cache / (plan.key + jvm_cds.BUILDING)).touch()  # as start_build leaves it
    (cache / (plan.key + jvm_cds.CLASSLIST)).write_text("java/lang/Object\n")
    assert not jvm_cds.build(cache, plan.key, libjvm, "", options)
    assert not list(cache.glob("*" + jvm_cds.ARCHIVE)) and not list(cache.glob("*.tmp"))
    assert not list(cache.glob("*" + jvm_cds.BUILDING))
    failed = cache / (plan.key + jvm_cds.FAILED)
    assert failed.exists()
    assert jvm_cds.plan(cache, libjvm, [], options) == jvm_cds.NONE
    assert not jvm_cds.start_build(plan, libjvm, "", options)
    # a day later (the disk may have been freed), it is tried again
    old = time.time() - jvm_cds.FAILED_RETRY_S - 60
    os.utime(failed, (old, old))
    assert jvm_cds.plan(cache, libjvm, [], options).recording is not None


def test_the_archive_key_follows_the_jvm_the_jars_and_the_options(tmp_path: Path) -> None:
    libjvm = jvm.java_path()
    assert libjvm is not None
    jar = tmp_path / "driver.jar"
    jar.write_bytes(b"PK jar")
    key = jvm_cds.archive_key(libjvm, [str(jar)], ["-Xmx256m"])
    assert jvm_cds.archive_key(libjvm, [str(jar)], ["-Xmx256m"]) == key
    assert jvm_cds.archive_key(libjvm, [str(jar)], ["-Xmx512m"]) != key
    assert jvm_cds.archive_key(libjvm, [], ["-Xmx256m"]) != key
    os.utime(jar, ns=(0, 1_000_000_000))  # the jar was replaced
    assert jvm_cds.archive_key(libjvm, [str(jar)], ["-Xmx256m"]) != key


def test_the_setting_is_a_folder_beside_the_config_or_none(tmp_path: Path) -> None:
    path = tmp_path / "pipekit.yaml"
    default = config_module.parse_config({}, path)
    assert default["jdbc.class_cache"] == str(tmp_path / "jdbc-cache")
    off = config_module.parse_config({"jdbc": {"class_cache": None}}, path)
    assert off["jdbc.class_cache"] is None
    with pytest.raises(config_module.ConfigError, match="class_cache"):
        config_module.parse_config({"jdbc": {"class_cache": 3}}, path)
    before = jvm.settings().class_cache
    try:
        jvm.configure(class_cache=tmp_path / "c")
        assert jvm.settings().class_cache == tmp_path / "c"
        jvm.configure(class_cache=False)
        assert jvm.settings().class_cache is None
    finally:
        jvm.settings().class_cache = before
