"""``PipekitResource``: where Dagster finds Pipekit (its config file and secrets file).

Configured from environment variables, as a deployment sets them from the cluster::

    PipekitResource(config_path=EnvVar("PIPEKIT_CONFIG"), secrets_path=EnvVar("PIPEKIT_SECRETS"))

or ``PipekitResource.from_env()``, which does the same and leaves the secrets path to
the config (``secrets_file``) when ``PIPEKIT_SECRETS`` is not set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from pipekit.config import ENV_CONFIG, ENV_SECRETS, load_config
from pipekit.errors import ConfigError

if TYPE_CHECKING:
    from pipekit.services import Services

#: the resource key assets, jobs and the sensor ask for
RESOURCE_KEY = "pipekit"


def _value(text: str | None) -> str | None:
    """A field's value: an ``EnvVar`` is read from the environment (Dagster resolves it
    only at run time, but the definitions are built when the code location loads)."""
    if isinstance(text, EnvVar):
        return text.get_value()
    return text


class PipekitResource(ConfigurableResource):
    """Pipekit's config file and secrets file, for the assets, jobs and sensor."""

    config_path: str = Field(
        description="Path of Pipekit's config file (pipekit.yaml), usually from PIPEKIT_CONFIG."
    )
    secrets_path: str | None = Field(
        default=None,
        description="Path of the KEY=value secrets file; default: the config's secrets_file.",
    )

    @classmethod
    def from_env(cls) -> PipekitResource:
        """The resource reading ``PIPEKIT_CONFIG`` (and ``PIPEKIT_SECRETS`` when set)."""
        if not os.environ.get(ENV_CONFIG):
            raise ConfigError(
                f"{ENV_CONFIG} is not set; point it at Pipekit's config file "
                "(pipekit.yaml) in the Dagster code location's environment"
            )
        secrets = EnvVar(ENV_SECRETS) if os.environ.get(ENV_SECRETS) else None
        return cls(config_path=EnvVar(ENV_CONFIG), secrets_path=secrets)

    @contextmanager
    def services(self, actor: str) -> Iterator[Services]:
        """Pipekit's services acting as `actor` (recorded as a run's ``triggered_by``)."""
        from pipekit.services import Services

        config_path = _value(self.config_path)
        if not config_path:
            raise ConfigError(
                "PipekitResource has no config_path; set it, or the environment variable "
                f"it reads ({ENV_CONFIG})"
            )
        secrets = _value(self.secrets_path)
        config = load_config(Path(config_path))
        with Services.open(
            config, actor=actor, secrets_path=Path(secrets) if secrets else None
        ) as sv:
            yield sv


#: how the run log's ``triggered_by`` names a run Dagster started: ``dagster:<run id>``
DAGSTER_ACTOR = "dagster:"


def dagster_actor(dagster_run_id: str) -> str:
    """The ``triggered_by`` of Pipekit runs carried out for Dagster run `dagster_run_id`."""
    return f"{DAGSTER_ACTOR}{dagster_run_id}"


def started_by_dagster(triggered_by: str | None) -> bool:
    return bool(triggered_by) and str(triggered_by).startswith(DAGSTER_ACTOR)
