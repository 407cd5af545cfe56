"""Real Scrapyd nodes on 127.0.0.1 for the scale-out tests and benchmark (stdlib only).

    nodes = [LocalNode(tmp / f"node{n}", env=node_environment(db_url, tmp / f"node{n}"))
             for n in (1, 2)]
    for node in nodes:
        node.start()
    deploy(nodes, tmp / "build")      # scrapyd-deploy: the egg built once, uploaded to each
    ...
    node.kill()                       # the node and its crawls, as a machine that dies

Each node is a `scrapyd` process with its own folder (scrapyd.conf, eggs, queue, logs), its own
free port and `max_proc`, started in its own session with the environment a systemd unit would
give it (`ARCHIVER_DATABASE_URL`, `ARCHIVER_DATA_DIR`, ...) and nothing of the test's: no
`PYTHONPATH`, no `SCRAPY_*`, and a working folder outside the repository, so its jobs import
the archiver from the egg it was sent (Python puts the egg on the path ahead of the editable
install's finder), as on a machine that only has the dependencies installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What `scrapyd-deploy` needs of the project to build its egg (the working tree, as installed).
PROJECT_FILES = ("archiver", "spiders", "pipelines", "pyproject.toml", "setup.py", "README.md")
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_environment(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a node's service: this one without Python or Scrapy overrides or the
    archiver's own variables, plus the node's database and data folder."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARCHIVER_", "SCRAPY", "PYTHON", "PYTEST"))
    }
    env.update(ARCHIVER_DATABASE_URL=db_url, ARCHIVER_DATA_DIR=str(data_dir), **extra)
    return env


class LocalNode:
    """One Scrapyd process on 127.0.0.1 with its own folder and port."""

    def __init__(
        self,
        folder: Path,
        env: dict[str, str],
        *,
        max_proc: int = 2,
        poll_interval: float = 0.2,
        port: int | None = None,
    ) -> None:
        self.folder = folder
        self.env = env
        self.max_proc = max_proc
        self.poll_interval = poll_interval
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.folder / "logs"

    @property
    def service_log(self) -> Path:
        """Scrapyd's own output (what journald would keep)."""
        return self.folder / "scrapyd.log"

    def start(self, timeout: float = 30.0) -> LocalNode:
        """Write scrapyd.conf, start Scrapyd, wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            f"max_proc = {self.max_proc}\n"
            f"poll_interval = {self.poll_interval}\n"
            "logs_dir = logs\n"
            "eggs_dir = eggs\n"
            "dbs_dir = dbs\n"
            "jobs_to_keep = 100\n"
            "finished_to_keep = 200\n"
        )
        with open(self.service_log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scrapyd"],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the node and its crawls: one process group
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"scrapyd exited: {self.service_log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError):
                if self.get("daemonstatus.json").get("status") == "ok":
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"scrapyd on port {self.port} did not answer in {timeout} s")

    def get(self, endpoint: str) -> dict:
        with urllib.request.urlopen(f"{self.url}/{endpoint}", timeout=5) as response:
            return json.loads(response.read())

    def page(self, path: str) -> str:
        """A page of the node's web UI (or a log it serves), as text."""
        with urllib.request.urlopen(f"{self.url}/{path.lstrip('/')}", timeout=5) as response:
            return response.read().decode("utf-8", "replace")

    def pids(self) -> list[int]:
        """The node's processes: Scrapyd and the crawls it runs (its process group)."""
        if self.process is None:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # the process group
                    found.append(int(entry.name))
        return found

    def rss_bytes(self) -> int:
        """Resident memory of the node and its crawls together."""
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        return total

    def kill(self) -> None:
        """SIGKILL the node and every crawl it runs, as a machine that dies would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL) and any crawl it left running."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # crawls left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def build_egg(workdir: Path) -> tuple[Path, Path]:
    """Copy the project to `workdir/project` and build its egg there with `scrapyd-deploy
    --build-egg`; returns (the project copy, the egg). The repository itself is not touched."""
    project = workdir / "project"
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            shutil.copy2(source, project / name)
    shutil.copy2(ROOT / "scrapy.cfg", project / "scrapy.cfg")
    egg = workdir / "archiver.egg"
    run_deploy(project, "--build-egg", str(egg))
    return project, egg


def run_deploy(project: Path, *args: str) -> str:
    """Run `scrapyd-deploy ARGS` in the project copy; its output (raises on failure)."""
    # Without PYTHONDONTWRITEBYTECODE (set in some shells and CI): the egg carries its .pyc
    # files, as an operator's does, or every job would compile the archiver from source.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SCRAPY") and key != "PYTHONDONTWRITEBYTECODE"
    }
    result = subprocess.run(
        [str(BIN / "scrapyd-deploy"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scrapyd-deploy {' '.join(args)}: {result.stderr[-3000:]}")
    return result.stdout + result.stderr


def deploy(nodes: list[LocalNode], workdir: Path, version: str = "1") -> list[dict]:
    """Deploy the project to every node the way an operator does: deploy targets in scrapy.cfg,
    `scrapyd-deploy --build-egg` once, then `scrapyd-deploy -a --egg` to all of them. Returns
    each node's answer (`{"project": "archiver", "spiders": 3, ...}`)."""
    project, egg = build_egg(workdir)
    # The repository's own targets are the documented ports; these nodes have their own.
    config = "[settings]\ndefault = archiver.settings\n" + "".join(
        f"\n[deploy:node{number}]\nurl = {node.url}/\nproject = archiver\n"
        for number, node in enumerate(nodes, 1)
    )
    (project / "scrapy.cfg").write_text(config)
    output = run_deploy(project, "-a", "-v", version, "--egg", str(egg))
    answers = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    if len(answers) != len(nodes) or any(answer.get("status") != "ok" for answer in answers):
        raise RuntimeError(f"deploy failed: {output[-3000:]}")
    return answers


class MemorySampler:
    """Samples each node's resident memory (node and crawls) in a thread; `peaks` in bytes."""

    def __init__(self, nodes: list[LocalNode], interval: float = 0.2) -> None:
        self.nodes = nodes
        self.interval = interval
        self.peaks = [0] * len(nodes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for index, node in enumerate(self.nodes):
                self.peaks[index] = max(self.peaks[index], node.rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def wait_idle(nodes: list[LocalNode], timeout: float = 300.0) -> None:
    """Wait until no node has a pending or running job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = 0
        for node in nodes:
            with contextlib.suppress(OSError, urllib.error.URLError):
                status = node.get("daemonstatus.json")
                busy += int(status.get("pending", 0)) + int(status.get("running", 0))
        if not busy:
            return
        time.sleep(0.2)
    raise TimeoutError("the nodes still have jobs")
