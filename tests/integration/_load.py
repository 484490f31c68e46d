"""A steady load of webhook requests against live servers, with every outcome kept for the asserts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx


@dataclass
class Outcomes:
    """What happened to every request of a load, by request number."""

    accepted: dict[int, int] = field(default_factory=dict)
    """Request number → the execution id its 2xx answer named."""
    refused: dict[int, httpx.Response] = field(default_factory=dict)
    """Request number → its non-2xx answer."""
    unanswered: dict[int, str] = field(default_factory=dict)
    """Request number → why no answer came (a connection error, or the client's timeout)."""

    @property
    def sent(self) -> int:
        """How many requests have an outcome."""
        return len(self.accepted) + len(self.refused) + len(self.unanswered)

    def statuses(self) -> dict[int, int]:
        """How many non-2xx answers came per status code."""
        counts: dict[int, int] = {}
        for response in self.refused.values():
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
        return counts


class SteadyLoad:
    """`senders` tasks that each POST one request after another (`pause` seconds apart) until stopped.

    Request `n` goes to `targets[n % len(targets)]` (base URLs; the list may change while the
    load runs, as a load balancer drops a server) at `/api/webhook:trigger/<key>`, with the
    JSON body `body(n)`. Use it as `async with SteadyLoad(...) as load:`; leaving the block
    stops sending and waits for the requests in flight.
    """

    def __init__(
        self,
        targets: list[str],
        key: str,
        body: Callable[[int], Any],
        *,
        senders: int = 10,
        pause: float = 0.0,
        timeout: float = 15.0,
        **request: Any,
    ) -> None:
        self.targets = targets
        self.key = key
        self.outcomes = Outcomes()
        self._body = body
        self._senders = senders
        self._pause = pause
        self._request = request
        self.issued = 0
        """How many request numbers were handed out: the next request is number `issued`."""
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=senders))
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def wait_for(self, check: Callable[[Outcomes], bool], what: str, within: float = 30.0) -> None:
        """Keep the load going until `check(outcomes)` holds; fail naming `what` after `within` s."""
        try:
            async with asyncio.timeout(within):
                # The outcomes grow as answers come back: polling them is the simplest fair wait.
                while not check(self.outcomes):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise AssertionError(f"timed out after {within} s waiting until {what}: {self}") from None

    async def stop(self) -> None:
        """Stop sending; return once every request in flight has its outcome."""
        self._stopping.set()
        if self._tasks:
            await asyncio.gather(*self._tasks)
        await self._client.aclose()

    async def _send(self) -> None:
        """One sender: a request, its outcome, a pause, the next request."""
        while not self._stopping.is_set():
            n, self.issued = self.issued, self.issued + 1
            await self._post(n)
            if self._pause:
                await asyncio.sleep(self._pause)  # pacing: this sender's rate, not a wait for anything

    async def _post(self, n: int) -> None:
        """Send request `n` and file its outcome."""
        url = f"{self.targets[n % len(self.targets)]}/api/webhook:trigger/{self.key}"
        try:
            response = await self._client.post(url, json=self._body(n), **self._request)
        except httpx.TransportError as error:  # includes the client's timeouts
            self.outcomes.unanswered[n] = f"{url}: {type(error).__name__}: {error}"
            return
        if response.is_success:
            self.outcomes.accepted[n] = int(response.headers["x-hookline-execution"])
        else:
            self.outcomes.refused[n] = response

    def __str__(self) -> str:
        o = self.outcomes
        return (
            f"{o.sent} requests: {len(o.accepted)} 2xx, non-2xx {o.statuses()}, "
            f"{len(o.unanswered)} unanswered"
        )

    async def __aenter__(self) -> SteadyLoad:
        self._tasks = [asyncio.create_task(self._send()) for _ in range(self._senders)]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
