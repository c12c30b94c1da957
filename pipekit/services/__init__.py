"""The service layer: every operation a face offers, defined once.

    >>> from pipekit.services import Services
    >>> with Services.open(load_config()) as sv:
    ...     sv.modules.show("orders")            # a ModuleView
    ...     sv.watermarks.remove("orders", "since")   # refused while the query uses it

The CLI, the REST API and the web pages call these methods and nothing below
them, so the same operation gives the same result and the same error from
every face. A service owns:

- lookups by name or id, with "did you mean" (``lookup.py``);
- validation that reports every problem with its path (``ValidationError``);
- writes of several steps in one state-DB transaction (``store.transaction()``);
- the view models the faces show (``views.py`` and each service's ``*View``).

One module per resource: ``connections``, ``connectors``, ``modules`` (with watermarks, hooks,
checks and history), ``groups``, ``schedules``, ``runs``, ``manifest``,
``users``, ``audit``. ``actor`` is who acts (recorded in module history): ``cli`` or
``api:<user>`` / ``web:<user>``; ``who`` is the same with the operating-system user
for the CLI (recorded in the audit trail).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipekit.errors import PipekitError

if TYPE_CHECKING:
    from pipekit.config import Config
    from pipekit.engine.run import Engine
    from pipekit.files import FilePolicy
    from pipekit.secrets import SecretsFile
    from pipekit.services.audit import AuditService
    from pipekit.services.connections import ConnectionService
    from pipekit.services.connectors import ConnectorService
    from pipekit.services.dashboard import DashboardService
    from pipekit.services.drivers import DriverService
    from pipekit.services.groups import GroupService
    from pipekit.services.health import HealthView
    from pipekit.services.manifest import ManifestService
    from pipekit.services.modules import (
        CheckService,
        HookService,
        ModuleService,
        WatermarkService,
    )
    from pipekit.services.notifications import NotificationService
    from pipekit.services.runs import RunService
    from pipekit.services.schedules import ScheduleService
    from pipekit.services.users import UserService
    from pipekit.store import Store

__all__ = ["Services"]


@dataclass
class Services:
    """The services over one state store. Make with ``Services.open(config)``."""

    store: Store
    config: Config
    secrets: SecretsFile
    actor: str = "cli"
    #: the server's run pool and scheduler (None in the CLI: runs go in-process)
    pool: Any = None
    scheduler: Any = None

    @classmethod
    def open(
        cls, config: Config, *, actor: str = "cli", secrets_path: Path | None = None
    ) -> Services:
        """Services for a loaded config (nothing is connected until used)."""
        from pipekit.engine.connections import configure_jvm
        from pipekit.secrets import SecretsFile
        from pipekit.store import Store

        secrets = SecretsFile(secrets_path or config.secrets_path)
        # read once so its values are masked in every answer and record of this process
        # (pipekit.redact.remember); a broken file is reported where it is used
        with contextlib.suppress(PipekitError, OSError):
            secrets.read()
        configure_jvm(config)  # settings only: no JVM starts until a JDBC connection opens
        return cls(Store.open(config), config, secrets, actor)

    def as_actor(self, actor: str) -> Services:
        """The same services acting for `actor` (an API user, say)."""
        return dataclasses.replace(self, actor=actor)

    @property
    def who(self) -> str:
        """The actor for the audit trail: ``cli`` names the operating-system user."""
        if self.actor == "cli":
            import getpass

            try:
                return f"cli:{getpass.getuser()}"
            except (KeyError, OSError):  # no name for this uid (a bare container)
                return "cli:?"
        return self.actor

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> int:
        """The state DB's schema version; SchemaVersionError saying what to do if unusable."""
        return self.store.check()

    def health(self) -> HealthView:
        """The state DB's, the scheduler's and the run pool's health (never raises)."""
        from pipekit.services.health import health

        return health(self)

    @cached_property
    def engine(self) -> Engine:
        """The data path, for runs in this process and for connecting to databases."""
        from pipekit.engine.connections import configure_jvm
        from pipekit.engine.run import Engine

        configure_jvm(self.config)
        lease_s = float(self.config["runs.lease_s"])
        return Engine(
            self.store,
            self.secrets,
            self.config.staging_schema,
            files=self.files,
            lease_s=lease_s,
        )

    @cached_property
    def files(self) -> FilePolicy:
        """The files connections may open (``files.allowed_directories``, never the state
        database, the secrets file or the config)."""
        policy = self.config.file_policy().protecting(self.secrets.path)
        if self.store.target.path is not None:
            policy = policy.protecting(self.store.target.path)
        return policy

    # -- the resources -------------------------------------------------------

    @cached_property
    def notifications(self) -> NotificationService:
        from pipekit.services.notifications import NotificationService

        return NotificationService(self)

    @cached_property
    def connections(self) -> ConnectionService:
        from pipekit.services.connections import ConnectionService

        return ConnectionService(self)

    @cached_property
    def drivers(self) -> DriverService:
        from pipekit.services.drivers import DriverService

        return DriverService(self)

    @cached_property
    def connectors(self) -> ConnectorService:
        from pipekit.services.connectors import ConnectorService

        return ConnectorService(self.config, self.secrets)

    @cached_property
    def modules(self) -> ModuleService:
        from pipekit.services.modules import ModuleService

        return ModuleService(self)

    @cached_property
    def watermarks(self) -> WatermarkService:
        from pipekit.services.modules import WatermarkService

        return WatermarkService(self)

    @cached_property
    def hooks(self) -> HookService:
        from pipekit.services.modules import HookService

        return HookService(self)

    @cached_property
    def checks(self) -> CheckService:
        from pipekit.services.modules import CheckService

        return CheckService(self)

    @cached_property
    def groups(self) -> GroupService:
        from pipekit.services.groups import GroupService

        return GroupService(self)

    @cached_property
    def schedules(self) -> ScheduleService:
        from pipekit.services.schedules import ScheduleService

        return ScheduleService(self)

    @cached_property
    def runs(self) -> RunService:
        from pipekit.services.runs import RunService

        return RunService(self)

    @cached_property
    def dashboard(self) -> DashboardService:
        from pipekit.services.dashboard import DashboardService

        return DashboardService(self)

    @cached_property
    def manifest(self) -> ManifestService:
        from pipekit.services.manifest import ManifestService

        return ManifestService(self)

    @cached_property
    def audit(self) -> AuditService:
        from pipekit.services.audit import AuditService

        return AuditService(self)

    @cached_property
    def users(self) -> UserService:
        from pipekit.services.users import UserService

        return UserService(self)
