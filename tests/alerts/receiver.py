"""A real local HTTP server that records what webhooks post to it, and can fail or hang on purpose."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """``with Receiver() as r``: ``r.url``; ``r.posts`` (each body's JSON); ``fail`` answers 500 that many
    times first; ``hang`` holds each request that many seconds before answering."""

    def __init__(self, fail: int = 0, hang: float = 0.0):
        self.posts: list[dict] = []
        self.requests = 0
        self.fail, self.hang = fail, hang
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail
                    if not failing:
                        receiver.posts.append(json.loads(body))
                if receiver.hang:
                    time.sleep(receiver.hang)
                try:
                    self.send_response(500 if failing else 200)
                    self.end_headers()
                    self.wfile.write(b"no" if failing else b"ok")
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (its time-out)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[tuple[str, str | None]]:
        """(kind, column) of every event received, in order."""
        return [(e["kind"], e["column"]) for post in self.posts for e in post["events"]]
