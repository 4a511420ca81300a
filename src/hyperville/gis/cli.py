"""The ``hyperville import`` and ``hyperville twin report`` commands (registered by
:mod:`hyperville.cli`). Heavy imports happen inside the commands; progress and tables go to
stderr / stdout through rich.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

twin_app = typer.Typer(help="Inspect the twin's data.", no_args_is_help=True)

DbOpt = Annotated[Path | None, typer.Option("--db", help="SQLite file of the twin.")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="NGSI-LD tenant (default: none).")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file (may use ${VAR}).")
]


def _open(config: Path | None, db: Path | None):
    """The settings, an opened store and the twin over it."""
    from hyperville.api.app import open_store
    from hyperville.cli import _load
    from hyperville.twin import Twin

    # local, offline commands sign nothing: the built-in secret is acceptable here
    settings = _load(config, db_path=db, demo_mode=True)
    store = open_store(settings)
    store.open()
    return settings, store, Twin(store)


def _progress_bar():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def import_command(
    mapping: Annotated[Path, typer.Argument(help="The mapping file (YAML).")],
    db: DbOpt = None,
    tenant: TenantOpt = "",
    config: ConfigOpt = None,
) -> None:
    """Import the GIS layers a mapping file names into the twin (all or nothing per layer)."""
    from rich.table import Table

    from hyperville.gis.importer import Importer
    from hyperville.gis.mapping import MappingError, load_mapping
    from hyperville.ngsild.context import ContextResolver

    try:
        spec = load_mapping(mapping)
    except MappingError as exc:
        typer.echo(f"hyperville: {exc}", err=True)
        raise typer.Exit(code=2) from None
    settings, store, twin = _open(config, db)
    contexts = ContextResolver(
        settings.context_cache_dir,
        fetch_timeout_s=settings.context_fetch_timeout_s,
        allow_remote=settings.allow_remote_contexts,
    )
    bar = _progress_bar()
    tasks: dict[tuple[str, str], Any] = {}

    def progress(dataset: str, phase: str, done: int, total: int) -> None:
        if phase == "done":
            return
        key = (dataset, phase)
        if key not in tasks:
            tasks[key] = bar.add_task(f"{dataset}: {phase}", total=total or 1)
        bar.update(tasks[key], completed=done if total else 1, total=total or 1)

    importer = Importer(
        twin, tenant=tenant, base_dir=mapping.parent, contexts=contexts, progress=progress
    )
    try:
        with bar:
            report = asyncio.run(importer.run(spec))
    finally:
        store.close()
    table = Table(title=f"import of {mapping}")
    for column in ("dataset", "type", "features", "added", "changed", "unchanged", "removed"):
        table.add_column(column, justify="left" if column in ("dataset", "type") else "right")
    table.add_column("source CRS")
    table.add_column("result")
    for layer in report.layers:
        counts = (layer.features, layer.added, layer.changed, layer.unchanged, layer.removed)
        table.add_row(
            layer.dataset,
            layer.type,
            *(f"{n:,}" for n in counts),
            layer.source_crs or "-",
            f"ok, {layer.seconds:.1f} s" if layer.ok else "FAILED: nothing imported",
        )
    _console().print(table)
    for layer in report.layers:
        for message in layer.errors:
            typer.echo(message, err=True)
    if not report.ok:
        raise typer.Exit(code=1)


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise typer.BadParameter("minLon,minLat,maxLon,maxLat", param_hint="--bbox")
    return values  # type: ignore[return-value]


@twin_app.command("report")
def report_command(
    db: DbOpt = None,
    tenant: TenantOpt = "",
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    bbox: Annotated[
        str | None,
        typer.Option(
            "--bbox", help="Territory minLon,minLat,maxLon,maxLat when the twin has none."
        ),
    ] = None,
    duplicate_m: Annotated[
        float, typer.Option("--duplicate-distance", help="Metres under which two are duplicates.")
    ] = 3.0,
    limit: Annotated[int, typer.Option("--limit", help="Ids listed per section.")] = 100,
) -> None:
    """Completeness and quality of the twin's data, per entity type and attribute."""
    from hyperville.gis.report import build_report

    box = _bbox(bbox)
    _, store, twin = _open(config, db)
    try:
        report = build_report(twin, tenant, bbox=box, duplicate_m=duplicate_m, limit=limit)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    print_report(report)


def print_report(report) -> None:
    from rich.table import Table

    console = _console()
    territory = report.territory.get("source") or "none (no AdministrativeArea, no --bbox)"
    console.print(f"{report.entities:,} entities; territory: {territory}")
    table = Table(title="completeness per type and attribute")
    for column in ("type", "attribute", "filled", "of", "share"):
        table.add_column(column, justify="right" if column in ("filled", "of", "share") else "left")
    for info in report.types:
        for i, fill in enumerate(info.attributes):
            table.add_row(
                info.type if i == 0 else "",
                fill.attribute,
                f"{fill.filled:,}",
                f"{info.count:,}",
                f"{fill.share:.1%}",
            )
    console.print(table)
    quality = Table(title="quality per type")
    for column in ("type", "entities", "no geometry", "outside", "duplicates", "dangling"):
        quality.add_column(column, justify="left" if column == "type" else "right")
    for info in report.types:
        outside = "-" if report.outside_territory_count is None else f"{info.outside_territory:,}"
        quality.add_row(
            info.type,
            f"{info.count:,}",
            f"{info.without_geometry:,}",
            outside,
            f"{info.duplicates:,}",
            f"{info.dangling:,}",
        )
    console.print(quality)
    for dup in report.duplicates[:20]:
        console.print(f"likely duplicate ({dup.type}): {dup.a} ~ {dup.b} ({dup.distance_m} m)")
    for item in report.dangling[:20]:
        console.print(f"dangling: {item.entity} {item.attribute} -> {item.object}")


def _console():
    """stdout console; wide enough for the tables when stdout is not a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def register(app: typer.Typer) -> None:
    """Add ``import`` and the ``twin`` group to the main command."""
    app.command("import")(import_command)
    app.add_typer(twin_app, name="twin")
