"""Scrapyd nodes over their JSON API, with the standard library only (no Scrapy, no requests).

    node = ScrapydNode("http://crawler-2:6800")
    node.daemon_status()            # DaemonStatus(pending=0, running=1, finished=7, ...)
    node.schedule("archiver", "amnestyusa", job_id="syria~1a2b", arguments={...}, settings={...})
    node.job_state("archiver", "syria~1a2b")   # "pending", "running", "finished" or None

A node is given by its URL; `http://user:password@host:6800` logs in with HTTP basic auth (the
`username` / `password` of the node's scrapyd.conf). The credentials are never shown: `name` is
the URL without them, and that is what run rows, logs and `archiver nodes` show. Every failure
(refused connection, timeout, an HTTP error, an answer that is not Scrapyd's JSON, or Scrapyd's
own `"status": "error"`) is one `NodeError` whose message names the node by `name`.

What a dispatched job gets, and what it never gets, is the dispatcher's business
(archiver.scheduler.dispatch); this module only speaks the protocol.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.config import scrub_secrets

#: The Scrapyd project name of the archiver (scrapy.cfg's `[deploy] project`).
DEFAULT_PROJECT = "archiver"


class NodeError(Exception):
    """A Scrapyd node could not be reached, or refused what it was asked (one line)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """`daemonstatus.json`: jobs waiting for a slot, running, and kept as finished."""

    pending: int
    running: int
    finished: int
    node_name: str = ""

    @property
    def load(self) -> int:
        """Jobs the node has not finished: what "least busy" compares."""
        return self.pending + self.running


@dataclass(frozen=True, slots=True)
class Jobs:
    """`listjobs.json` of one project: each job as Scrapyd describes it (id, spider, times, ...)."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    running: list[dict[str, Any]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)

    def unfinished_ids(self) -> list[str]:
        """Ids of the jobs pending or running."""
        return [str(job.get("id")) for job in (*self.pending, *self.running)]


def node_name(url: str) -> str:
    """The node's URL without credentials, query or trailing slash: how it is shown and recorded.

    >>> node_name("http://ops:s3cret@crawler-2:6800/")
    'http://crawler-2:6800'
    >>> node_name("http://127.0.0.1:6800/scrapyd/")
    'http://127.0.0.1:6800/scrapyd'
    """
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def check_node_url(url: str) -> str:
    """`url` if it can name a Scrapyd node (http or https, a host), else ValueError.

    >>> check_node_url("http://127.0.0.1:6800")
    'http://127.0.0.1:6800'
    >>> check_node_url("127.0.0.1:6800")
    Traceback (most recent call last):
    ...
    ValueError: '127.0.0.1:6800' is not a Scrapyd URL (http://host:6800)
    """
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{scrub_secrets(url)!r} is not a Scrapyd URL (http://host:6800)")
    return url


class ScrapydNode:
    """One Scrapyd node; every method is one HTTP request (raises NodeError)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = check_node_url(url)
        self.name = node_name(url)
        self.timeout = timeout
        parts = urllib.parse.urlsplit(url)
        self._auth: str | None = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._auth = f"Basic {token}"

    def __repr__(self) -> str:
        return f"ScrapydNode({self.name!r})"

    # -- the API -------------------------------------------------------------------------------

    def daemon_status(self) -> DaemonStatus:
        """How busy the node is."""
        answer = self._call("daemonstatus.json")
        return DaemonStatus(
            pending=int(answer.get("pending", 0)),
            running=int(answer.get("running", 0)),
            finished=int(answer.get("finished", 0)),
            node_name=str(answer.get("node_name", "")),
        )

    def schedule(
        self,
        project: str,
        spider: str,
        *,
        job_id: str,
        arguments: Mapping[str, str],
        settings: Mapping[str, str],
    ) -> str:
        """Queue a crawl; returns its job id. `arguments` are spider arguments, `settings` become
        the job's `-s NAME=VALUE`: both are shown on the node's pages, so never a secret."""
        fields: list[tuple[str, str]] = [
            ("project", project),
            ("spider", spider),
            ("jobid", job_id),
        ]
        fields += [("setting", f"{name}={value}") for name, value in settings.items()]
        reserved = {"project", "spider", "jobid", "setting", "_version", "priority"}
        fields += [(key, str(value)) for key, value in arguments.items() if key not in reserved]
        answer = self._call("schedule.json", post=fields)
        return str(answer.get("jobid") or job_id)

    def job_state(self, project: str, job_id: str) -> str | None:
        """`pending`, `running`, `finished`, or None when the node does not know the job (it
        never had it, or forgot it when it restarted: finished jobs are kept in memory)."""
        answer = self._call("status.json", query={"job": job_id, "project": project})
        state = answer.get("currstate")
        return str(state) if state else None

    def list_jobs(self, project: str) -> Jobs:
        """The project's pending, running and (recently) finished jobs."""
        answer = self._call("listjobs.json", query={"project": project})
        return Jobs(
            pending=list(answer.get("pending") or []),
            running=list(answer.get("running") or []),
            finished=list(answer.get("finished") or []),
        )

    def cancel(self, project: str, job_id: str, signal: str = "TERM") -> str | None:
        """Stop a job (a pending one is dropped); returns its previous state, or None."""
        answer = self._call(
            "cancel.json", post=[("project", project), ("job", job_id), ("signal", signal)]
        )
        state = answer.get("prevstate")
        return str(state) if state else None

    def projects(self) -> list[str]:
        """The projects deployed on the node."""
        return [str(name) for name in self._call("listprojects.json").get("projects") or []]

    def log_url(self, project: str, spider: str, job_id: str) -> str:
        """Where the node serves a job's log (its default `logs_dir` layout)."""
        parts = (project, spider, f"{job_id}.log")
        return f"{self.name}/logs/" + "/".join(urllib.parse.quote(part) for part in parts)

    def log_tail(self, project: str, spider: str, job_id: str, size: int = 20_000) -> str:
        """The end of a job's log, or "" when the node does not serve it."""
        request = self._request(self.log_url(project, spider, job_id).removeprefix(self.name))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return text[-size:]

    # -- HTTP ----------------------------------------------------------------------------------

    def _request(
        self, path: str, query: Mapping[str, str] | None = None, data: bytes | None = None
    ) -> urllib.request.Request:
        base = urllib.parse.urlsplit(self.url)
        url = urllib.parse.urlunsplit(
            (
                base.scheme,
                base.netloc.rpartition("@")[2],  # the credentials go in a header
                base.path.rstrip("/") + "/" + path.lstrip("/"),
                urllib.parse.urlencode(query or {}),
                "",
            )
        )
        request = urllib.request.Request(url, data=data)
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        return request

    def _call(
        self,
        endpoint: str,
        *,
        query: Mapping[str, str] | None = None,
        post: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        data = urllib.parse.urlencode(post).encode() if post is not None else None
        request = self._request(endpoint, query, data)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise NodeError(f"node {self.name}: {endpoint} answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise NodeError(f"node {self.name} unreachable: {reason}", unreachable=True) from None
        except OSError as error:  # a connection reset while reading
            raise NodeError(f"node {self.name} unreachable: {error}", unreachable=True) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise NodeError(f"node {self.name}: {endpoint} did not answer JSON") from None
        if not isinstance(answer, dict):
            raise NodeError(f"node {self.name}: {endpoint} did not answer a JSON object")
        if answer.get("status") != "ok":
            lines = scrub_secrets(str(answer.get("message") or "")).strip().splitlines()
            raise NodeError(f"node {self.name}: {endpoint}: {lines[-1] if lines else 'error'}")
        return answer
