"""`pipekit init`: write a default config if there is none, create or upgrade the state DB."""

import typer

from pipekit.cli._context import JSON_HELP, OK, check_line, emit_json, json_mode, say, state


def init(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Create the config file (if missing) and create or upgrade the state database.

    Safe to run again: an existing config is kept, and only missing migrations
    are applied.
    """
    from pipekit.services.system import init as run_init

    json_mode(ctx, as_json)
    done = run_init(state(ctx).config_path)
    if as_json:
        emit_json(ctx, done)
        return
    how = "written with defaults" if done.config_written else "kept as it is"
    check_line(OK, f"config {done.config_path} ({how})")
    db, version = done.database, done.schema_version
    if done.applied:
        for m in done.applied:
            say(f"  applied migration {m.version:04d} {m.name}")
        check_line(OK, f"state database {db} created/upgraded to schema version {version}")
    else:
        check_line(OK, f"state database {db} is up to date (schema version {version})")
    say(f"  secrets file: {done.secrets_path} (add secrets with `pipekit secrets set NAME`)")
    say("Next: `pipekit connections add NAME URL`, then `pipekit doctor`.")
