"""`pipekit init`: write a default config if there is none, create or upgrade the state DB."""

import typer

from pipekit.cli._context import OK, check_line, say, state


def init(ctx: typer.Context) -> None:
    """Create the config file (if missing) and create or upgrade the state database.

    Safe to run again: an existing config is kept, and only missing migrations
    are applied.
    """
    from pipekit.config import (
        default_config_path,
        default_config_text,
        find_config_path,
        load_config,
    )
    from pipekit.errors import ConfigError
    from pipekit.store import Store

    path = state(ctx).config_path or find_config_path() or default_config_path()
    if path.exists():
        config = load_config(path)  # validate before touching anything else
        check_line(OK, f"config {path} (kept as it is)")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(default_config_text())
        except OSError as exc:
            raise ConfigError(
                f"cannot write the config file {path}: {exc.strerror}; "
                "choose another place with --config or $PIPEKIT_CONFIG"
            ) from None
        config = load_config(path)
        check_line(OK, f"config {path} (written with defaults)")

    with Store.open(config) as store:
        applied = store.init()
        version = store.schema_version()
        where = store.display()
    if applied:
        for m in applied:
            say(f"  applied migration {m.version:04d} {m.name}")
        check_line(OK, f"state database {where} created/upgraded to schema version {version}")
    else:
        check_line(OK, f"state database {where} is up to date (schema version {version})")
    say(f"  secrets file: {config.secrets_path} (add secrets with `pipekit secrets set NAME`)")
    say("Next: `pipekit connections add NAME URL`, then `pipekit doctor`.")
