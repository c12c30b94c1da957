"""Drivers: the database kinds this installation can talk to, and registered JDBC jars.

``list_drivers()`` needs no state database: the native kinds, whether their Python
packages are installed, and the JDBC profiles whose jars Debian's packages put on
this machine. ``sv.drivers`` adds the jars registered with ``pipekit drivers add``
(``POST /api/drivers``): the jars are copied into ``driver_dir/<name>/``, the
row goes into the ``driver`` table, and a connection whose JDBC URL has the
template's subprotocol uses them. Registering a jar runs its code in the server,
so only admins may (``POST/DELETE /api/drivers`` need the ``admin`` role; the CLI
acts with the file access of whoever runs it, as every CLI command does).

Every row says whether it can load: Java found, jars present, Python packages
installed (``problems``; empty means it can).
"""

from __future__ import annotations

import builtins
import re
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipekit.errors import ConnectionSpecError, PipekitError, Problem, ValidationError

if TYPE_CHECKING:
    from pipekit.services import Services
    from pipekit.store.drivers import RegisteredDriver

#: a fully qualified Java class name
_CLASS_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")


@dataclass(frozen=True)
class DriverView:
    """A driver kind, a built-in JDBC profile or a registered JDBC driver.

    `origin` is ``native`` (a Python client), ``jdbc`` (a JDBC profile whose jar a
    Debian package installs) or ``registered`` (``pipekit drivers add``); `name` is
    the kind, the profile or the registered name. `problems` says why it cannot
    load here (Java missing, a jar missing, a package missing); empty: it can."""

    kind: str
    schemes: list[str]
    packages: list[str]
    missing: list[str]
    install: str
    available: bool
    name: str = ""
    origin: str = "native"
    jars: list[str] = field(default_factory=list)
    class_name: str | None = None
    url_template: str | None = None
    problems: list[str] = field(default_factory=list)
    id: int | None = None


def _java_problem() -> list[str]:
    from pipekit.drivers import jvm

    if jvm.java_found():
        return []
    return [f"Java not found: {jvm.JAVA_HINT}"]


def list_drivers(registered: Sequence[RegisteredDriver] = ()) -> list[DriverView]:
    """Every native kind, every built-in JDBC profile and every registered driver."""
    from pipekit.drivers import REGISTRY, driver_status
    from pipekit.drivers.jdbc_dialect import JAVA_SHARE, PROFILES

    out = [
        DriverView(
            kind=d.kind,
            schemes=list(d.schemes),
            packages=list(d.packages),
            missing=list(d.missing),
            install=d.install,
            available=d.available,
            name=d.kind,
            problems=[f"missing Python package(s) {', '.join(d.missing)}"] if d.missing else [],
        )
        for d in driver_status()
    ]
    jdbc = next(d for d in out if d.kind == "jdbc")
    java = _java_problem()
    base = ([] if jdbc.available else list(jdbc.problems)) + java
    for p in PROFILES:
        if not p.jars:
            continue
        jars = [f"{JAVA_SHARE}/{j}" for j in p.jars]
        present = [j for j in jars if Path(j).is_file()]
        problems = list(base)
        if not present:
            problems.append(f"jar not found: {jars[0]}; install Debian's {p.package}")
        out.append(
            DriverView(
                kind="jdbc",
                schemes=[f"jdbc:{s}" for s in p.subprotocols],
                packages=list(REGISTRY["jdbc"].packages),
                missing=list(jdbc.missing),
                install=f"apt-get install {p.package}",
                available=not problems,
                name=p.profile,
                origin="jdbc",
                jars=present or jars[:1],
                class_name=p.driver_class,
                problems=problems,
            )
        )
    for r in registered:
        problems = list(base) + [f"jar missing: {j}" for j in r.jars if not Path(j).is_file()]
        out.append(
            DriverView(
                kind=r.kind,
                schemes=[f"jdbc:{r.subprotocol}"] if r.subprotocol else [],
                packages=list(REGISTRY["jdbc"].packages),
                missing=list(jdbc.missing),
                install="pipekit drivers add NAME --jar PATH --class CLASS",
                available=not problems,
                name=r.name,
                origin="registered",
                jars=list(r.jars),
                class_name=r.class_name,
                url_template=r.url_template,
                problems=problems,
                id=r.id,
            )
        )
    return out


def _class_in_jars(class_name: str, jars: Sequence[Path]) -> bool:
    entry = class_name.replace(".", "/") + ".class"
    for jar in jars:
        try:
            with zipfile.ZipFile(jar) as z:
                if entry in z.namelist():
                    return True
        except (OSError, zipfile.BadZipFile):
            continue
    return False


class DriverService:
    """``sv.drivers``: list, register (admin) and remove (admin) JDBC drivers."""

    def __init__(self, sv: Services) -> None:
        self._sv = sv
        self._repo = sv.store.drivers

    @property
    def driver_dir(self) -> Path:
        return Path(self._sv.config["driver_dir"])

    def list(self) -> builtins.list[DriverView]:
        return list_drivers(self._repo.list())

    def _view(self, name: str) -> DriverView:
        return next(d for d in self.list() if d.origin == "registered" and d.name == name)

    def add(
        self,
        name: str,
        *,
        jars: Sequence[str],
        class_name: str,
        url_template: str | None = None,
    ) -> DriverView:
        """Register a JDBC driver: check every input (all problems at once, nothing
        changed), copy the jars into ``driver_dir/<name>/``, store the row."""
        from pipekit.store.repo import check_name

        problems: list[Problem] = []
        try:
            check_name("driver", name, ConnectionSpecError)
        except PipekitError as exc:
            problems.append(Problem("name", exc.message))
        paths: list[Path] = []
        if not jars:
            problems.append(Problem("jars", "give at least one jar file (--jar PATH)"))
        for i, jar in enumerate(jars):
            p = Path(jar).expanduser()
            if not p.is_file():
                problems.append(Problem(f"jars.{i}", f"jar file {jar} does not exist"))
            elif not zipfile.is_zipfile(p):
                problems.append(Problem(f"jars.{i}", f"{jar} is not a jar (zip) file"))
            else:
                paths.append(p.absolute())
        if not _CLASS_RE.match(class_name or ""):
            problems.append(
                Problem(
                    "class_name",
                    f"{class_name!r} is not a Java class name; give the driver class, "
                    "e.g. com.ibm.as400.access.AS400JDBCDriver",
                )
            )
        elif paths and len(paths) == len(jars) and not _class_in_jars(class_name, paths):
            problems.append(
                Problem(
                    "class_name",
                    f"class {class_name} is not in {', '.join(str(p) for p in paths)}; "
                    "check the class name in the driver's documentation",
                )
            )
        if url_template is not None and not url_template.lower().startswith("jdbc:"):
            problems.append(
                Problem(
                    "url_template",
                    f"{url_template!r} is not a JDBC URL; it starts with jdbc:<subprotocol>:, "
                    "e.g. jdbc:as400://{host}",
                )
            )
        if problems:
            raise ValidationError(problems, f"driver {name!r}")
        self._repo.ensure_absent(name)  # AlreadyExistsError, as for a connection
        folder = self.driver_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        copied = []
        try:
            for p in paths:
                target = folder / p.name
                shutil.copyfile(p, target)
                copied.append(str(target))
            self._repo.add(name, jars=copied, class_name=class_name, url_template=url_template)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return self._view(name)

    def remove(self, key: str | int) -> DriverView:
        """Delete a registered driver and its folder in ``driver_dir`` (refused while a
        connection uses it)."""
        from pipekit.services.lookup import find

        found = find(
            self._repo.list(), key, "driver", "see `pipekit drivers list` for the registered ones"
        )
        view = self._view(found.name)
        self._repo.remove(found.name)
        shutil.rmtree(self.driver_dir / found.name, ignore_errors=True)
        return view
