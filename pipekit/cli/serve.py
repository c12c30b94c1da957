"""`pipekit serve` (the REST API, background runs, the scheduler) and
`pipekit set-password USER` (the users the API authenticates).

FastAPI and uvicorn are imported inside the commands, so `pipekit --help` stays fast.
"""

import typer

from pipekit.cli._context import load, open_services, say, state


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (api.host)."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (api.port)."),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
    grace: float = typer.Option(
        30.0, "--grace", min=0, help="Seconds running runs get to finish on shutdown."
    ),
    log_format: str = typer.Option(
        "text", "--log-format", help="Log lines as 'text' or 'json' (for journald, shippers)."
    ),
    tls_cert: str | None = typer.Option(
        None, "--tls-cert", help="Serve HTTPS with this certificate (PEM; with --tls-key)."
    ),
    tls_key: str | None = typer.Option(
        None, "--tls-key", help="The certificate's private key (PEM; with --tls-cert)."
    ),
) -> None:
    """Serve the REST API under /api, run modules in the background and fire schedules.

    Logs one line per run start and end, schedule fire and request, on stderr."""
    import logging
    import os

    import uvicorn

    from pipekit.errors import InvalidError
    from pipekit.server import logs
    from pipekit.server.serve import ENV_GRACE, build, check_tls, uvicorn_options

    if log_format not in logs.FORMATS:
        raise InvalidError(
            f"--log-format {log_format!r} is not one of {', '.join(logs.FORMATS)}",
            path="log_format",
        )
    config = load(ctx)
    check_tls(tls_cert, tls_key)  # a bad certificate is one error line, before anything
    # only now: a refused start leaves the process's logging as it was
    logs.setup(log_format)
    with open_services(ctx) as sv:
        sv.check()  # refuse an uninitialised state DB before listening
    host = host or config["api.host"]
    port = port or config["api.port"]
    options = uvicorn_options(config, tls_cert, tls_key)
    path = state(ctx).config_path or config.path
    if reload:
        if path:
            os.environ["PIPEKIT_CONFIG"] = str(path)
        os.environ[ENV_GRACE] = str(grace)
        uvicorn.run(
            "pipekit.server.serve:from_env",
            factory=True,
            host=host,
            port=port,
            reload=True,
            log_config=None,
            **options,
        )
        return
    app = build(path, grace)
    url = f"{'https' if tls_cert else 'http'}://{host}:{port}"
    logging.getLogger("pipekit.server").info(
        "pipekit serve on %s: REST API under %s/api, docs at %s/docs; state database %s",
        url,
        url,
        url,
        config.database,  # the log formatter masks a password in it
        extra={"event": "server_started", "url": url},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            timeout_graceful_shutdown=5,
            log_level="info",
            log_config=None,  # logs.setup above formats uvicorn's lines too
            **options,
        )
    )
    server.run()


def set_password(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="User name (created if new)."),
) -> None:
    """Set USER's API password: prompted twice without echo, or read from stdin.

    A new user is created: the first one as admin, later ones as viewer (see
    `pipekit users set-role`)."""
    from pipekit.cli.users import read_password

    password = read_password(user)
    with open_services(ctx) as sv:
        view = sv.users.set_password(user, password)
    say(f"password set for {user} (role {view.role})")
