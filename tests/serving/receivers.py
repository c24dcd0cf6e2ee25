"""Webhook receivers for the tests: HTTP servers on 127.0.0.1 that record every post.

A webhook may name them when ``127.0.0.1`` is allowed, the way an operator names a host in
``CROSSPLAN_WEBHOOK_ALLOW``.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LOCAL", "Post", "Receiver", "never_answering", "receiving"]

LOCAL = ("127.0.0.1",)  # the allow-list that lets webhooks name these receivers


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def delivery(self) -> str:
        """The delivery id the post carries (``X-Crossplan-Delivery``)."""
        return self.headers.get("X-Crossplan-Delivery", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server that records the posts it receives."""

    url: str
    posts: list[Post] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, seconds: float) -> bool:
        """Whether ``n`` posts have arrived within ``seconds``."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.posts) >= n, seconds)

    def deliveries(self) -> Counter[str]:
        """How many times each delivery id arrived."""
        with self.arrived:
            return Counter(post.delivery for post in self.posts)


@contextmanager
def receiving(
    answers: Iterable[int] = (),
    location: str | None = None,
    gate: threading.Event | None = None,
) -> Iterator[Receiver]:
    """A receiver answering ``answers`` in turn (then 204), with ``Location`` when given,
    each answer held until ``gate`` opens."""
    statuses = iter(answers)
    lock = threading.Lock()
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.arrived:
                receiver.posts.append(Post(self.path, dict(self.headers), body))
                receiver.arrived.notify_all()
            if gate is not None:
                gate.wait(10)
            with lock:
                status = next(statuses, 204)
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if gate is not None:
            gate.set()
        server.shutdown()
        server.server_close()


@contextmanager
def never_answering() -> Iterator[str]:
    """The URL of a port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/alerts"
