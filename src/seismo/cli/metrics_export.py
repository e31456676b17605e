"""Getting the store's metrics text (`seismo.store.metrics_text`) to Prometheus: a file or HTTP.

`write_atomically` is for node-exporter's textfile collector, which reads every ``*.prom`` file
of its folder whenever it is scraped: a file written in place could be read half-written, so
the text goes to a temporary file in the same folder (whose name does not end in ``.prom``)
and is renamed over the target, which a reader sees all at once or not at all.

`metrics_server` serves the same text at ``/metrics`` with the standard library's threading
HTTP server: read-only (GET and HEAD only), the store re-read on every scrape, nothing else
served. It binds what it is told; the CLI binds 127.0.0.1 unless told otherwise, since the
numbers name a model's columns and segments.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from seismo.errors import SeismoError
from seismo.store.metrics_text import OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, MetricsReader

FILE_MODE = 0o644  # node-exporter usually runs as another user: the file must be readable by it


def write_atomically(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` through a temporary file in its folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class _MetricsHandler(BaseHTTPRequestHandler):
    """``/metrics``: the text; anything else: 404; a store that cannot be read: 503 and why."""

    server: _MetricsServer
    server_version = "seismo-metrics"

    def _reply(self, send_body: bool) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self._send(404, "text/plain; charset=utf-8", "not found; the metrics are at /metrics\n", send_body)
            return
        try:
            text = self.server.scrape()
        except SeismoError as exc:  # the store went away or refused: Prometheus records the scrape failed
            print(f"error {exc}", file=sys.stderr, flush=True)
            self._send(503, "text/plain; charset=utf-8", f"{exc}\n", send_body)
            return
        # OpenMetrics for a client that asks for it (Prometheus does), else the classic text type: the
        # text is valid in both (gauges only; "# EOF" is a comment to the classic parser)
        accept = self.headers.get("Accept", "")
        kind = OPENMETRICS_CONTENT_TYPE if "application/openmetrics-text" in accept else PROMETHEUS_CONTENT_TYPE
        self._send(200, kind, text, send_body)

    def _send(self, code: int, kind: str, text: str, send_body: bool) -> None:
        body = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._reply(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet: a scrape every few seconds would fill the log; errors are printed where they happen."""


class _MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], reader: MetricsReader):
        super().__init__(address, _MetricsHandler)
        self.reader = reader
        self._lock = threading.Lock()  # one read of the store at a time; the reader's cache is shared

    def scrape(self) -> str:
        with self._lock:
            return self.reader.text()


def metrics_server(reader: MetricsReader, host: str = "127.0.0.1", port: int = 9108) -> ThreadingHTTPServer:
    """A server (bound, not yet serving: call ``serve_forever``) of ``reader``'s text at /metrics.
    ``port=0`` takes a free port; ``server.server_address`` says which."""
    return _MetricsServer((host, port), reader)
