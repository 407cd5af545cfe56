"""The local site's fault injection: every fault really happens on the wire, for `times` tries.

Each test starts a DemoServer with a FaultPlan and reads the answer over a real socket, the way a
crawler meets a broken production server. One test runs the real spider through a 503 storm.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from archiver.demo.dataset import SYRIA, Dataset
from archiver.demo.faults import Fault, FaultPlan, listing_path, normalise_path, parse_fault_spec
from archiver.demo.server import DemoServer
from archiver.extract import extract_listing

PAGE = listing_path(2, SYRIA)  # /news/page/2/?country=syria
OTHER_PAGES = [listing_path(1, SYRIA), listing_path(3, SYRIA), listing_path(2)]


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    """One server for the module; each test sets its own plan (counts start from zero)."""
    with DemoServer(layout="current") as demo:
        yield demo


def get(
    server: DemoServer, path: str, timeout: float = 5
) -> tuple[http.client.HTTPResponse, bytes]:
    """One GET on a fresh connection: the response (headers read) and its whole body."""
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def real_page(server: DemoServer, path: str) -> bytes:
    status, body = server.site.lookup(path)
    assert status == 200
    return body


def assert_unaffected(server: DemoServer, paths: list[str] = OTHER_PAGES) -> None:
    for path in paths:
        response, body = get(server, path)
        assert (response.status, body) == (200, real_page(server, path)), path


def raw_request(server: DemoServer, path: str) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_status(server: DemoServer, status: int) -> None:
    server.faults = FaultPlan({PAGE: Fault("status", status=status)})
    response, body = get(server, PAGE)
    assert response.status == status
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert f"<title>{status} ".encode() in body and extract_listing(body, PAGE).cards == []
    assert_unaffected(server)


def test_hang_sends_nothing_then_closes_without_blocking_others(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("hang", seconds=2)})
    started = time.monotonic()
    with raw_request(server, PAGE) as sock:
        sock.settimeout(0.5)  # the client's DOWNLOAD_TIMEOUT, shorter than the hang
        with pytest.raises(TimeoutError):
            sock.recv(1)
        assert_unaffected(server)  # served meanwhile: the hang holds one thread only
        assert time.monotonic() - started < 1.5
        sock.settimeout(5)
        assert sock.recv(1) == b""  # then closed, without a byte
    assert time.monotonic() - started >= 1.9
    assert server.faults.tries[PAGE] == 1


def test_hang_times_out_an_http_client(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("hang", seconds=3)})
    with pytest.raises(TimeoutError):
        get(server, PAGE, timeout=0.5)


def test_stopping_the_server_ends_a_hang() -> None:
    with DemoServer(faults=FaultPlan({PAGE: Fault("hang", seconds=60)})) as demo:
        sock = raw_request(demo, PAGE)
        time.sleep(0.2)  # the handler is hanging
    started = time.monotonic()
    with sock:
        assert sock.recv(1) == b""
    assert time.monotonic() - started < 2


def test_reset(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("reset")})
    with pytest.raises(ConnectionResetError):
        get(server, PAGE)
    with raw_request(server, PAGE) as sock, pytest.raises(ConnectionResetError):
        sock.recv(1)  # an RST, not an orderly close (that would read b"")
    assert_unaffected(server)


def test_truncate_sends_the_full_length_but_part_of_the_body(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("truncate", fraction=0.4)})
    full = real_page(server, PAGE)
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(server, PAGE)
    assert caught.value.partial == full[: int(len(full) * 0.4)]
    assert caught.value.expected == len(full) - int(len(full) * 0.4)
    with raw_request(server, PAGE) as sock:
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert f"Content-Length: {len(full)}".encode() in head and body == full[: len(body)]
    assert 0 < len(body) < len(full)
    assert_unaffected(server)


def test_empty(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("empty")})
    response, body = get(server, PAGE)
    assert (response.status, body) == (200, b"")
    assert response.headers["Content-Length"] == "0"
    assert response.headers["Content-Type"].startswith("text/html")
    assert_unaffected(server)


def test_maintenance_page_has_the_site_header_but_no_listing(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("maintenance")})
    response, body = get(server, PAGE)
    assert response.status == 200
    assert b'class="site-header"' in body and b"maintenance" in body
    listing = extract_listing(body, server.base_url + PAGE)
    assert listing.cards == [] and listing.next_url is None
    real = extract_listing(real_page(server, PAGE), server.base_url + PAGE)
    assert real.cards and real.next_url  # what the fault takes away
    assert_unaffected(server)


def test_redirect_loop_points_at_itself(server: DemoServer) -> None:
    spelling = "/news/page/2?country=syria"  # any spelling of the page: sent back as asked
    server.faults = FaultPlan({PAGE: Fault("redirect_loop")})
    for path in (PAGE, spelling, PAGE):
        response, _ = get(server, path)
        assert (response.status, response.headers["Location"]) == (302, path)
    assert server.faults.tries[PAGE] == 3
    assert_unaffected(server)


def test_garbage_is_deterministic_binary_noise(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("garbage"), listing_path(3, SYRIA): Fault("garbage")})
    response, body = get(server, PAGE)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert len(body) == 4096
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert extract_listing(body, PAGE).cards == []
    assert get(server, PAGE)[1] == body  # seeded from the path
    assert get(server, listing_path(3, SYRIA))[1] != body
    assert_unaffected(server, [listing_path(1, SYRIA)])


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_wrong_encoding_sends_bytes_that_are_not_the_utf8_it_claims(
    server: DemoServer, encoding: str
) -> None:
    server.faults = FaultPlan({PAGE: Fault("wrong_encoding", encoding=encoding)})
    real = real_page(server, PAGE).decode("utf-8")
    assert "’" in real and any(ord(char) > 255 for char in real)
    response, body = get(server, PAGE)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert response.headers["Content-Length"] == str(len(body))
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert body == real.encode(encoding, "xmlcharrefreplace")
    assert_unaffected(server)


def test_times_then_answers_normally_and_reset_starts_over(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("status", status=503, times=2)})
    statuses = [get(server, PAGE)[0].status for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert server.faults.tries[PAGE] == 4
    server.faults.reset()
    assert server.faults.tries == {}
    assert [get(server, PAGE)[0].status for _ in range(3)] == [503, 503, 200]


def test_a_page_is_matched_whatever_its_spelling(server: DemoServer) -> None:
    pair = "country=russian-federation,ukraine"
    server.faults = FaultPlan(
        {listing_path(1, SYRIA): Fault("empty"), listing_path(2, pair): Fault("empty")}
    )
    for path in (
        "/news/?country=syria",
        "/news?country=syria",
        "/news/page/1/?country=syria",
        "/news/page/2/?country=russian-federation%2Cukraine",
        "/news/page/02?country=russian-federation%2cukraine",
        "/news/page/2/?country=russian-federation,ukraine",
    ):
        response, body = get(server, path)
        assert (response.status, body) == (200, b""), path
    assert server.faults.tries == {listing_path(1, SYRIA): 3, listing_path(2, pair): 3}
    assert listing_path(2, pair) == "/news/page/2/?country=russian-federation%2Cukraine"
    assert_unaffected(server, [listing_path(1), listing_path(2, SYRIA), "/news/?country=iraq"])


def test_faults_apply_to_any_named_path(server: DemoServer) -> None:
    server.faults = FaultPlan({"/robots.txt": Fault("status", status=503, times=1)})
    assert get(server, "/robots.txt")[0].status == 503
    response, body = get(server, "/robots.txt")
    assert response.status == 200 and b"User-agent" in body


def test_plan_changes_while_the_server_runs(server: DemoServer) -> None:
    server.faults = FaultPlan()
    assert get(server, PAGE)[0].status == 200
    server.faults.add(PAGE, Fault("status", status=500))
    assert get(server, PAGE)[0].status == 500
    server.faults.remove(PAGE)
    assert get(server, PAGE)[0].status == 200
    assert server.faults.tries == {PAGE: 3}


def test_tries_are_counted_across_threads(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("status", status=503, times=10)})
    statuses: list[int] = []

    def worker() -> None:
        for _ in range(5):
            statuses.append(get(server, PAGE)[0].status)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [503] * 10
    assert server.faults.tries[PAGE] == 20


def test_conditional_requests_still_work_beside_faults(server: DemoServer) -> None:
    server.faults = FaultPlan({PAGE: Fault("reset")})
    response, _ = get(server, listing_path(3, SYRIA))
    etag = response.headers["ETag"]
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", listing_path(3, SYRIA), headers={"If-None-Match": etag})
    assert connection.getresponse().status == 304
    connection.close()


def test_normalise_path_keeps_other_paths_apart() -> None:
    assert normalise_path("/robots.txt") == "/robots.txt"
    assert normalise_path("/news/page/0/") == "/news/page/0/"
    assert normalise_path("/news/?country=syria&lang=e") == "/news/?country=syria&lang=e"
    assert normalise_path("/news/?lang=e&country=syria") != normalise_path(listing_path(1, SYRIA))
    with pytest.raises(ValueError):
        listing_path(0)


@pytest.mark.parametrize(
    ("spec", "path", "fault"),
    [
        (
            "page=3,query=country=syria,kind=status,status=500,times=2",
            "/news/page/3/?country=syria",
            Fault("status", status=500, times=2),
        ),
        ("page=1,kind=empty", "/news/", Fault("empty")),
        ("query=country=syria,kind=reset", "/news/?country=syria", Fault("reset")),
        (
            "page=2,query=country=russian-federation,ukraine,kind=truncate,fraction=0.1",
            "/news/page/2/?country=russian-federation%2Cukraine",
            Fault("truncate", fraction=0.1),
        ),
        ("path=/robots.txt,kind=hang,seconds=5", "/robots.txt", Fault("hang", seconds=5)),
        (
            " page=4 , kind=wrong_encoding , encoding=utf-16 ",
            "/news/page/4/",
            Fault("wrong_encoding", encoding="utf-16"),
        ),
        ("kind=garbage,size=10,page=5", "/news/page/5/", Fault("garbage", size=10)),
    ],
)
def test_parse_fault_spec(spec: str, path: str, fault: Fault) -> None:
    assert parse_fault_spec(spec) == (path, fault)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("page=3", "kind= is missing"),
        ("page=3,kind=explode", "unknown kind 'explode'"),
        ("kind=empty", "say which page"),
        ("page=3,path=/robots.txt,kind=empty", "either path= or page="),
        ("page=x,kind=empty", "page= must be a whole number"),
        ("page=0,kind=empty", "page must be 1 or more"),
        ("page=3,kind=empty,times=0", "times must be 1 or more"),
        ("page=3,kind=hang,status=500", "status= does not apply to kind=hang"),
        ("page=3,kind=status,status=200", "status must be 400-599"),
        ("page=3,kind=hang,seconds=inf", "less than a day"),
        ("page=3,kind=hang,seconds=0", "more than 0"),
        ("page=3,kind=truncate,fraction=1.5", "fraction must be between 0 and 1"),
        ("page=3,kind=wrong_encoding,encoding=klingon", "unknown encoding 'klingon'"),
        ("page=3,kind=wrong_encoding,encoding=utf8", "must not be UTF-8"),
        ("page=3,kind=empty,colour=red", "unknown field 'colour'"),
        ("page=3,page=4,kind=empty", "page= given twice"),
        ("oops,page=3,kind=empty", "'oops' is not NAME=VALUE"),
        ("path=robots.txt,kind=empty", "path must start with '/'"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_fault_spec(spec)


def test_serve_demo_takes_fault_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    from archiver.cli import main

    def interrupted(self: DemoServer) -> None:
        assert self.faults[listing_path(3, SYRIA)] == Fault("status", status=500, times=2)
        raise KeyboardInterrupt

    monkeypatch.setattr(DemoServer, "serve_forever", interrupted)
    runner = CliRunner()
    spec = "page=3,query=country=syria,kind=status,status=500,times=2"
    result = runner.invoke(main, ["serve-demo", "--fault", spec, "--fault", "page=4,kind=reset"])
    assert result.exit_code == 0, result.output
    assert (
        "fault: /news/page/3/?country=syria answers status (status=500) on the first 2 tries"
        in result.output
    )
    assert "fault: /news/page/4/ answers reset on every try" in result.output

    result = runner.invoke(main, ["serve-demo", "--fault", "page=3,kind=status,status=abc"])
    assert result.exit_code == 2
    assert "Invalid value for '--fault': 'page=3,kind=status,status=abc': status= must be" in (
        result.output
    )
    result = runner.invoke(
        main, ["serve-demo", "--fault", "page=3,kind=empty", "--fault", "page=3,kind=reset"]
    )
    assert result.exit_code == 2 and "/news/page/3/ already has a fault" in result.output


@pytest.mark.slow
def test_crawl_retries_through_a_503_storm(crawl, dataset: Dataset) -> None:
    """The real spider, RETRY_TIMES=3: two 503s on page 2, the third try answers, all 7 pages."""
    plan = FaultPlan({PAGE: Fault("status", status=503, times=2)})
    with DemoServer(faults=plan) as demo:
        result = crawl(demo, country="syria", settings={"RETRY_TIMES": 3})
    assert result.ok, result.message
    assert result.stat("archiver/listing_pages") == 7
    assert result.stat("retry/count") == 2
    assert result.stat("downloader/response_status_count/503") == 2
    assert plan.tries[PAGE] == 3
    assert all(plan.tries[listing_path(n, SYRIA)] == 1 for n in (1, 3, 4, 5, 6, 7))
    expected = [release.canonical_url for page in dataset.pages(SYRIA) for release in page]
    assert len(result.items) == len(expected) == 70
