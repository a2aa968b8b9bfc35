"""A small replay server: answers from a JSON file of rules, on real loopback HTTP.

For shapes a real server cannot produce on demand: an Epic-like server that refuses Claim
writes, an Oracle Cerner-like one that needs a patient on every search, an HTML login
page, a server too slow to answer. Each rule matches a method, a path under ``/fhir`` and
optionally the presence or absence of query parameters; the first match answers with its
status, content type, body (``{base}`` becomes the server's base URL) and delay; a path
ending in ``*`` matches by prefix, and ``echo`` answers with the request's own body. With
``"batch": true`` at the top of the file, a batch Bundle is answered entry by entry from
the same rules. Anything unmatched is a FHIR 404. Requests are kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
PREFIX = "/fhir"


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    status: int = 200
    body: Any = None
    text: str | None = None
    content_type: str = "application/fhir+json"
    delay: float = 0.0
    query_has: tuple[str, ...] = ()
    query_lacks: tuple[str, ...] = ()
    echo: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        return cls(
            method=data.get("method", "GET"),
            path=data["path"],
            status=data.get("status", 200),
            body=data.get("body"),
            text=data.get("text"),
            content_type=data.get("content_type", "application/fhir+json"),
            delay=data.get("delay", 0.0),
            query_has=tuple(data.get("query_has", ())),
            query_lacks=tuple(data.get("query_lacks", ())),
            echo=data.get("echo", False),
        )

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        return (
            self.method == method
            and (self.path == path or (self.path.endswith("*") and path.startswith(self.path[:-1])))
            and all(name in query for name in self.query_has)
            and not any(name in query for name in self.query_lacks)
        )


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class ReplayServer:
    rules: list[Rule]
    batch: bool = False
    requests: list[Seen] = field(default_factory=list)
    base_url: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)


def load_recording(name: str) -> ReplayServer:
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return ReplayServer(
        [Rule.from_json(rule) for rule in data["rules"]], batch=data.get("batch", False)
    )


def _find(replay: ReplayServer, method: str, path: str, query: dict[str, list[str]]) -> Rule:
    rule = next((r for r in replay.rules if r.matches(method, path, query)), None)
    return rule or Rule(method, path, status=404, body=_NOT_FOUND)


def _batch_answer(replay: ReplayServer, body: bytes) -> Rule | None:
    """The batch-response Bundle for a batch of GETs, each answered by the rules."""
    try:
        bundle = json.loads(body)
    except ValueError:
        return None
    if not replay.batch or not isinstance(bundle, dict) or bundle.get("type") != "batch":
        return None
    entries = []
    for entry in bundle.get("entry") or []:
        parts = urlsplit(entry["request"]["url"])
        query = parse_qs(parts.query, keep_blank_values=True)
        rule = _find(replay, entry["request"]["method"], "/" + parts.path.lstrip("/"), query)
        entries.append({"resource": rule.body, "response": {"status": str(rule.status)}})
    answer = {"resourceType": "Bundle", "type": "batch-response", "entry": entries}
    return Rule("POST", "/", body=answer)


_NOT_FOUND = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Not recorded"}],
}


def _handler(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = parts.path.removeprefix(PREFIX) or "/"
            replay.requests.append(Seen(self.command, path, query, dict(self.headers), body))
            rule = (_batch_answer(replay, body) if path == "/" and body else None) or _find(
                replay, self.command, path, query
            )
            if rule.delay and replay.stopping.wait(rule.delay):
                return
            if rule.echo:
                payload = body
            elif rule.text is not None:
                payload = rule.text.encode()
            else:
                text = json.dumps(rule.body) if rule.body is not None else ""
                payload = text.replace("{base}", replay.base_url).encode()
            try:
                self.send_response(rule.status)
                self.send_header("Content-Type", rule.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting (the slow server's point)

        do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's names

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up on a slow answer is expected here


@contextmanager
def replay_server(recording: list[Rule] | str) -> Iterator[ReplayServer]:
    """Serve rules (or the recording named so) on 127.0.0.1; yields the server state."""
    replay = load_recording(recording) if isinstance(recording, str) else ReplayServer(recording)
    server = _Server(("127.0.0.1", 0), _handler(replay))
    replay.base_url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        replay.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
