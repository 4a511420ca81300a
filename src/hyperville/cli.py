"""The ``hyperville`` command: thin wrappers around settings, the web app and uvicorn.

No business logic lives here: commands load a :class:`~hyperville.settings.Settings`, then hand
it to the app factory. Heavy imports (the app, uvicorn) happen inside the commands so that
``hyperville version`` and ``hyperville config validate`` stay fast and work on their own.
"""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from hyperville.settings import DEFAULT_SECRET, ConfigError, Settings, load_settings

app = typer.Typer(
    name="hyperville",
    help="Open-source urban hypervisor: an NGSI-LD digital-twin broker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

# GIS imports and the completeness report: hyperville import, hyperville twin report
from hyperville.gis.cli import register as _register_gis  # noqa: E402

_register_gis(app)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file (may use ${VAR:-default})."),
]
HostOpt = Annotated[str | None, typer.Option("--host", help="Address to bind to.")]
PortOpt = Annotated[int | None, typer.Option("--port", help="HTTP port.")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Base URL of the running server (default: settings).")
]
AccessLogOpt = Annotated[
    bool, typer.Option("--access-log/--no-access-log", help="Log every HTTP request.")
]


def _one_line(exc: ConfigError) -> str:
    """The configuration error as one readable line (pydantic errors are multi-line)."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            parts.append(f"{where}: {str(err.get('msg', '')).removeprefix('Value error, ')}")
        if parts:
            return "; ".join(parts)
    return " ".join(str(exc).split())


def _fail(exc: ConfigError) -> typer.Exit:
    typer.echo(f"hyperville: configuration error: {_one_line(exc)}", err=True)
    return typer.Exit(code=2)


def _load(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load the settings or exit with code 2 and a one-line message on stderr."""
    try:
        return load_settings(config_file, **overrides)
    except ConfigError as exc:
        raise _fail(exc) from None


GC_GEN0_THRESHOLD = 50_000  # allocations between young-generation collections (default 700)


def _run_server(settings: Settings, *, access_log: bool = False) -> None:
    """Build the web app and serve it with uvicorn until interrupted."""
    import uvicorn

    from hyperville.api.app import create_app  # imported late: see the module docstring

    if settings.store_url is None:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        web_app = create_app(settings)
    except ConfigError as exc:
        raise _fail(exc) from None
    config = uvicorn.Config(
        web_app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=access_log,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
    )
    # The objects made at start (modules, contexts, the app) never become garbage: freeze
    # them out of the collector's scans, and collect the young generation less often. A
    # request allocates thousands of short-lived objects with no cycles; the default
    # threshold (700) ran a collection every few requests (~10-15 % of the CPU of writes).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 10)
    uvicorn.Server(config).run()


def _base_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


@app.command()
def serve(
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")] = None,
    host: HostOpt = None,
    port: PortOpt = None,
    config: ConfigOpt = None,
    context_cache: Annotated[
        Path | None,
        typer.Option("--context-cache", help="Directory of cached @context documents."),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = None,
    access_log: AccessLogOpt = False,
) -> None:
    """Run the hypervisor's HTTP server (NGSI-LD API)."""
    settings = _load(
        config,
        db_path=db,
        host=host,
        port=port,
        context_cache_dir=context_cache,
        log_level=log_level.lower() if log_level else None,
    )
    _run_server(settings, access_log=access_log)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="SQLite file of the demo twin.")] = Path(
        "var/demo.sqlite"
    ),
    host: HostOpt = None,
    port: PortOpt = None,
    access_log: AccessLogOpt = False,
    backfill_days: Annotated[
        float,
        typer.Option("--backfill-days", help="Days of sensor history written on the first run."),
    ] = 14,
    simulate: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="Run the live sensor simulator.")
    ] = True,
    scale: Annotated[float, typer.Option("--scale", hidden=True)] = 1.0,
) -> None:
    """Run the hypervisor on a demo territory (embedded SQLite, demo secret accepted)."""
    settings = _load(None, db_path=db, host=host, port=port, demo_mode=True)
    from hyperville.demo import prepare_demo

    state = prepare_demo(
        settings, scale=scale, backfill_days=backfill_days, provision=simulate, say=typer.echo
    )
    verb = "built" if state.built else "ready"
    typer.echo(f"demo twin {verb}: {state.entities:,} entities in {state.seconds:.1f} s")
    if state.failed_layers:
        typer.echo("layers that failed: " + ", ".join(state.failed_layers), err=True)
    base = _base_url(settings)
    typer.echo(f"hyperville demo on {base}")
    typer.echo(f"NGSI-LD API: {base}ngsi-ld/v1/entities")
    typer.echo("Press Ctrl+C to stop.")
    stop = None
    if simulate:
        from hyperville.demo import start_live_simulator

        stop = start_live_simulator(settings, base, say=typer.echo)
    try:
        _run_server(settings, access_log=access_log)
    finally:
        if stop is not None:
            stop.set()


@app.command()
def simulate(
    url: UrlOpt = None,
    config: ConfigOpt = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0.01, help="Simulated seconds per real second.")
    ] = 1.0,
    backfill_days: Annotated[
        float, typer.Option("--backfill-days", min=0, help="Send this many days of history first.")
    ] = 0,
    only: Annotated[
        str | None, typer.Option("--only", help="One kind of device (e.g. traffic_counter, fill).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0, help="Stop after S real seconds.")
    ] = None,
    territory: Annotated[
        Path | None,
        typer.Option("--territory", help="Directory of sensors.csv (default: next to --db)."),
    ] = None,
) -> None:
    """Drive the demo territory's sensors through the ingestion paths of a running server."""
    # a client of the server: the settings only locate it, its secret is never used here
    settings = _load(config, db_path=db, demo_mode=True)
    from hyperville.demo import DEMO_SEED, demo_files_dir
    from hyperville.simulator.runner import simulate as run

    try:
        run(
            url=url or _base_url(settings),
            territory_dir=territory or demo_files_dir(settings),
            seed=DEMO_SEED,
            mqtt_url=settings.mqtt_url,
            speed=speed,
            backfill_days=backfill_days,
            only=only,
            duration_s=duration,
            say=typer.echo,
        )
    except KeyboardInterrupt:
        typer.echo("stopped")
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        typer.echo(f"hyperville simulate: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except httpx_errors() as exc:
        typer.echo(f"hyperville simulate: the server does not answer: {exc}", err=True)
        raise typer.Exit(code=1) from None


def httpx_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.HTTPError,)


def _display(name: str, value: Any) -> str:
    if name == "secret_key":
        secret = value.get_secret_value()
        return "********" + (" (built-in default)" if secret == DEFAULT_SECRET else "")
    if value is None:
        return "-"
    if name == "mqtt_url":
        return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:********@", str(value))
    return str(value)


@config_app.command("validate")
def config_validate(config: ConfigOpt = None) -> None:
    """Check the configuration and print the effective settings (secret masked)."""
    settings = _load(config)
    typer.echo("configuration OK")
    rows = [(name, _display(name, getattr(settings, name))) for name in Settings.model_fields]
    width = max(len(name) for name, _ in rows)
    typer.echo(f"{'setting'.ljust(width)}  value")
    typer.echo(f"{'-' * width}  {'-' * 5}")
    for name, shown in rows:
        typer.echo(f"{name.ljust(width)}  {shown}")


deadletter_app = typer.Typer(help="Inspect and replay refused ingestion messages.")
app.add_typer(deadletter_app, name="deadletter", no_args_is_help=True)


@deadletter_app.command("list")
def deadletter_list(
    config: ConfigOpt = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    after: Annotated[int, typer.Option("--after", help="Only ids above this one.")] = 0,
) -> None:
    """List dead letters: id, time, source, tenant/device, reason."""
    from hyperville.ingest import admin

    letters = admin.list_letters(_load(config, db_path=db), limit=limit, after=after)
    for x in letters:
        where = f"{x['tenant'] or '-'}/{x['deviceId'] or '-'}"
        typer.echo(f"{x['id']}\t{x['at']}\t{x['source']}\t{where}\t{x['reason']}")
    typer.echo(f"{len(letters)} dead letter(s)", err=True)


@deadletter_app.command("replay")
def deadletter_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    config: ConfigOpt = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")] = None,
    url: UrlOpt = None,
) -> None:
    """Decode dead letters again (with today's devices) and ingest the ones that pass."""
    from hyperville.ingest import admin

    if not ids and not replay_all:
        raise typer.BadParameter("give dead letter ids, or --all")
    settings = _load(config, db_path=db)
    body = {"all": True} if replay_all else {"ids": ids}
    where, results = admin.replay(settings, url or _base_url(settings), body)
    for r in results:
        typer.echo(f"{r['id']}\t{r['status']}\t{r['points']}\t{r['reason'] or ''}")
    ok = sum(1 for r in results if r["status"] != "dead_letter")
    typer.echo(f"replayed {ok} of {len(results)} ({where})", err=True)


@app.command()
def status(
    config: ConfigOpt = None,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")] = None,
    url: UrlOpt = None,
) -> None:
    """Ingestion status: devices, dead letters, and the running server's counters."""
    from hyperville.ingest import admin

    settings = _load(config, db_path=db)
    for line in admin.status_lines(settings, url or _base_url(settings)):
        typer.echo(line)


@app.command()
def version() -> None:
    """Print the installed hyperville version."""
    try:
        number = importlib.metadata.version("hyperville")
    except importlib.metadata.PackageNotFoundError:
        number = "0+unknown"
    typer.echo(f"hyperville {number}")


if __name__ == "__main__":  # pragma: no cover
    app()
