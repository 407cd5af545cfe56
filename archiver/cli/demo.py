"""`archiver demo` and `archiver serve-demo`: the bundled local copy of amnestyusa.org."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from archiver.cli.common import console, err_console, layout_option
from archiver.config import mask_url
from archiver.demo.faults import KINDS, SPEC_HELP, FaultPlan, parse_fault_spec
from archiver.demo.run import DEMO_DATA_DIR, DemoReport
from archiver.process.crawl import CrawlResult


@click.command("demo")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Database to store into [default: sqlite:///<data-dir>/archive.db; never"
    " $ARCHIVER_DATABASE_URL, so the demo's made-up releases stay out of a real archive].",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DATA_DIR,
    show_default=True,
    help="The demo's own data folder (never $ARCHIVER_DATA_DIR).",
)
@layout_option
def demo_command(db_url: str | None, data_dir: Path, layout: str) -> None:
    """Crawl the bundled copy of the site end to end and show what was archived.

    Serves the local copy on 127.0.0.1 (nothing reaches the real site), crawls the whole
    newsroom and each bundled filter with the real spider and pipelines, reads every release's
    own page (full text), stores the releases in the demo's own archive (data/demo/archive.db),
    searches the bodies once and prints a summary. Run it twice: the second run finds nothing
    new. Look at the result with the other commands, e.g.
    `archiver runs --db sqlite:///data/demo/archive.db` or
    `archiver search "unlawful killings" --db sqlite:///data/demo/archive.db`.
    """
    from archiver.demo.run import FALLBACK_DEMO_LAYOUT, run_demo
    from archiver.outcome import EXIT_FALLBACK

    def progress(facet: str | None, result: CrawlResult) -> None:
        if result.ok:
            mark = "[green]ok[/green]"
        elif layout == FALLBACK_DEMO_LAYOUT and result.returncode == EXIT_FALLBACK:
            mark = "[yellow]fallback (7)[/yellow]"
        else:
            mark = f"[red]{result.message}[/red]"
        pages = result.stat("archiver/listing_pages")
        # Listing cards only: the release pages' items are counted on their own line.
        items = result.stat("item_scraped_count") - result.stat("archiver/details/tried")
        new = result.stat("archiver/store/new")
        console.print(
            f"  {facet or 'whole newsroom':<34} pages {pages:>3} items {items:>4} new {new:>4}"
            f" {mark} {result.duration:.0f}s"
        )

    console.print(f"[bold]archiver demo[/bold]: serving the bundled {layout} layout on 127.0.0.1")
    report = run_demo(data_dir=data_dir, db_url=db_url, layout=layout, on_crawl=progress)

    _print_archive(report)
    _print_release_pages(report)
    console.print(f"database: {mask_url(report.db_url)}")
    console.print(f"item feeds: {report.data_dir / 'feeds'}")
    if report.snapshot is not None:
        console.print(f"CSV snapshot: {report.snapshot}")
    if layout == FALLBACK_DEMO_LAYOUT and report.ok:
        console.print(
            "no shipped layout reads this markup: every page was read by the structural fallback,"
            " every run flagged fallback_layout (exit 7). What to do after such a run: README,"
            " 'After a redesign'."
        )
    if not report.ok:
        failed = [
            f"{facet or 'news'}: {result.message}"
            for facet, result in report.crawls
            if not report.as_expected(result)
        ]
        err_console.print("[red]demo failed[/red]: " + "; ".join(failed))
        raise SystemExit(1)


def _fault_plan(ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]) -> FaultPlan:
    """The --fault specs as one FaultPlan; a bad spec (or two for one page) is a usage error."""
    plan = FaultPlan()
    for spec in specs:
        try:
            path, fault = parse_fault_spec(spec)
        except ValueError as error:
            raise click.BadParameter(f"{spec!r}: {error}", ctx, param) from None
        if path in plan:
            raise click.BadParameter(f"{spec!r}: {path} already has a fault", ctx, param)
        plan.add(path, fault)
    return plan


@click.command("serve-demo")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@layout_option
@click.option(
    "--delay",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Seconds to wait before each answer (to try a slow site).",
)
@click.option(
    "--fault",
    "faults",
    metavar="SPEC",
    multiple=True,
    callback=_fault_plan,
    help=f"Make a page misbehave (repeatable; examples below). {SPEC_HELP} "
    f"Kinds: {', '.join(KINDS)}.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve_demo_command(
    port: int, layout: str, delay: float, faults: FaultPlan, verbose: bool
) -> None:
    """Serve the bundled copy of amnestyusa.org's newsroom on 127.0.0.1 until Ctrl-C.

    Crawl it from another terminal with the base_url it prints, for example
    `archiver crawl amnestyusa -a country=syria -a base_url=http://127.0.0.1:PORT`
    (add `-s DOWNLOAD_DELAY=0` to skip the polite delay on your own machine).
    With --fault, chosen pages fail the way a broken production server does (5xx, hangs,
    resets, truncated or garbled bodies...), for ever or for the first `times` tries:

    \b
      --fault 'page=3,query=country=syria,kind=status,status=503,times=2'
      --fault 'page=2,query=country=russian-federation,ukraine,kind=truncate'
      --fault 'page=5,kind=hang,seconds=60' --fault 'path=/robots.txt,kind=reset'
    """
    from archiver.demo.server import DemoServer

    try:
        server = DemoServer(layout=layout, port=port, delay=delay, verbose=verbose, faults=faults)
    except OSError as error:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    console.print(f"serving the {layout} layout at [bold]{server.base_url}[/bold] (Ctrl-C stops)")
    for path, fault in faults.items():
        console.print(f"  fault: {path} answers {fault.describe()}", markup=False, soft_wrap=True)
    console.print(
        f"  try: archiver crawl amnestyusa -a country=syria -a base_url={server.base_url}"
        " -s DOWNLOAD_DELAY=0"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _print_archive(report: DemoReport) -> None:
    """What the archive holds by type, and what the crawls did to it."""
    table = Table(title="The archive now holds", title_justify="left")
    table.add_column("type")
    table.add_column("releases", justify="right")
    for kind, count in report.types.most_common():
        table.add_row(kind, str(count))
    table.add_row("[bold]all[/bold]", f"[bold]{report.items}[/bold]")
    console.print(table)
    console.print(
        f"pages read {report.total('archiver/listing_pages')}, items seen "
        f"{report.total('item_scraped_count') - report.total('archiver/details/tried')},"
        f" new {report.total('archiver/store/new')}, "
        f"updated {report.total('archiver/store/updated')}, unchanged "
        f"{report.total('archiver/store/unchanged')}, refused {report.total('archiver/invalid')} "
        f"(kept in quarantine)"
    )


def _print_release_pages(report: DemoReport) -> None:
    """What the release pages gave, and the demo's search over their bodies."""
    from archiver.demo.run import DEMO_SEARCH

    unchanged = report.total("archiver/details/not_modified") + report.total(
        "archiver/details/unchanged"
    )
    console.print(
        f"release pages: read {report.total('archiver/details/enriched')}, unchanged"
        f" {unchanged}, moved {report.total('archiver/details/moved')}, gone"
        f" {report.total('archiver/details/gone')}, could not be read"
        f" {report.total('archiver/details/errors')}"
    )
    if report.search:
        console.print(f"search {DEMO_SEARCH} (archiver search):")
        for hit in report.search:
            console.print(f"  {hit.rank}. {escape(hit.title)}  [dim]{hit.url}[/dim]")
            console.print(f"     {escape(hit.snippet)}")
