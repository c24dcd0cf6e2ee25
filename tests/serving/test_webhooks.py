"""Webhook deliveries: retried with back-off, given up in the end, never blocking the caller."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from serving.webhooks import ATTEMPTS, WebhookSender


@pytest.mark.parametrize(
    ("failures", "delivered"),
    [
        (0, True),  # a receiver that answers
        (2, True),  # down twice, then back: the third try arrives
        (ATTEMPTS, False),  # never back: given up after the last try
    ],
)
def test_a_failing_receiver_is_retried_with_back_off(failures: int, delivered: bool) -> None:
    tries: list[float] = []
    arrived: list[bytes] = []
    done = threading.Event()

    def post(url: str, body: bytes) -> None:
        tries.append(time.monotonic())
        if len(tries) <= failures:
            if len(tries) == ATTEMPTS:
                done.set()
            raise ConnectionError("receiver down")
        arrived.append(body)
        done.set()

    sender = WebhookSender(post, first_delay=0.01)
    started = time.monotonic()
    sender.send("http://127.0.0.1:9/alerts", {"alert": {"region_id": "r004"}})
    assert time.monotonic() - started < 0.01  # the caller does not wait
    assert done.wait(10)
    sender.close()
    assert len(tries) == (failures + 1 if delivered else ATTEMPTS)
    assert arrived == ([b'{"alert":{"region_id":"r004"}}'] if delivered else [])
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert all(later >= 1.5 * earlier for earlier, later in itertools.pairwise(gaps))
