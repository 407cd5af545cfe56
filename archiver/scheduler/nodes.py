"""What each Scrapyd node is doing, for `archiver nodes`: its jobs, and its runs in the archive.

A node's own answer (`daemonstatus.json`, `listjobs.json`) says what it runs and queues now; the
archive says what its runs came to (how many, still running, the last one that went wrong). A
node that does not answer is reported with the error, never skipped. Without URLs, the nodes
are the ones the archive's runs were sent to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from archiver.db.runs import NodeRuns, runs_by_node
from archiver.scheduler.scrapyd import (
    DEFAULT_PROJECT,
    DaemonStatus,
    Jobs,
    NodeError,
    ScrapydNode,
    node_name,
)


@dataclass(frozen=True, slots=True)
class NodeReport:
    """One node: its answer (or why there is none) and its runs in the archive."""

    name: str
    status: DaemonStatus | None = None
    jobs: Jobs | None = None
    error: str | None = None
    runs: NodeRuns | None = None

    @property
    def up(self) -> bool:
        return self.status is not None

    @property
    def last_error(self) -> str | None:
        """What went wrong last: the node not answering, else its last run that went wrong."""
        if self.error:
            return self.error
        if self.runs is not None and self.runs.last_problem is not None:
            run_id, status, reason = self.runs.last_problem
            return f"run {run_id} {status}: {reason.removeprefix(f'{status}: ')}"
        return None


def node_reports(
    urls: Sequence[str],
    engine: Engine | None = None,
    *,
    project: str = DEFAULT_PROJECT,
    timeout: float = 5.0,
) -> list[NodeReport]:
    """A report per node (`urls`, else every node the archive's runs name), in that order."""
    archived: dict[str, NodeRuns] = {}
    if engine is not None:
        with engine.connect() as connection:
            archived = runs_by_node(connection)
    reports = []
    for url in urls or sorted(archived):
        node = ScrapydNode(url, timeout=timeout)
        runs = archived.get(node_name(url))
        try:
            status = node.daemon_status()
        except NodeError as error:
            reports.append(NodeReport(node.name, error=str(error), runs=runs))
            continue
        try:
            jobs: Jobs | None = node.list_jobs(project)
            error_text = None
        except NodeError as error:  # e.g. the project is not deployed there
            jobs, error_text = None, str(error)
        reports.append(NodeReport(node.name, status, jobs, error_text, runs))
    return reports
