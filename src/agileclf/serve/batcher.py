"""Micro-batching: requests that arrive together for one model become one predict_proba call, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


class Overloaded(Exception):
    """The model's queue is full or the batcher is stopping; the client should retry later (HTTP 503)."""


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Collects concurrent requests for one model and answers them from shared predict_proba calls.

    The first waiting request opens a batch; the batch closes after `max_wait_s` or once `max_batch_texts`
    texts are in it, whichever comes first. Requests are never split, so a batch holds at most
    `max_batch_texts` texts unless one request alone is larger. Model work runs in one worker thread, so the
    event loop keeps accepting requests (and forming the next batch) while a batch is computed.
    """

    def __init__(
        self,
        predict: Callable[[list[str]], np.ndarray],
        max_batch_texts: int = 64,
        max_wait_s: float = 0.005,
        max_queued_texts: int = 4096,
        on_batch: Callable[[int, float], None] | None = None,
        name: str = "model",
    ):
        self.predict = predict
        self.max_batch_texts = max_batch_texts
        self.max_wait_s = max_wait_s
        self.max_queued_texts = max_queued_texts
        self.on_batch = on_batch
        self.name = name
        self._pending: deque[_Request] = deque()
        self._queued_texts = 0
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def start(self) -> None:
        """Start the batching task on the running event loop."""
        if self.running:
            return
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"agileclf-{self.name}")
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Stop batching; requests still waiting get Overloaded instead of hanging."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        _fail(self._pending, Overloaded("the server is shutting down"))
        self._pending.clear()
        self._queued_texts = 0
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for `texts` (rows in input order), computed together with concurrent requests."""
        if not self.running:
            raise Overloaded(f"model {self.name!r} is not accepting requests")
        texts = list(texts)
        if self._queued_texts + len(texts) > self.max_queued_texts:
            raise Overloaded(f"model {self.name!r} has {self._queued_texts} texts queued; retry shortly")
        future = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(texts, future))
        self._queued_texts += len(texts)
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather_company(loop)
            batch = self._take_batch()
            if batch:
                await self._compute(loop, batch)

    async def _gather_company(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait up to max_wait_s for more requests, unless the batch is already full."""
        deadline = loop.time() + self.max_wait_s
        while self._queued_texts < self.max_batch_texts:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            # An Event, not a Queue: timing out while waiting on it can never lose a request.
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _take_batch(self) -> list[_Request]:
        batch: list[_Request] = []
        size = 0
        while self._pending:
            request = self._pending[0]
            if batch and size + len(request.texts) > self.max_batch_texts:
                break
            self._pending.popleft()
            self._queued_texts -= len(request.texts)
            if request.future.done():  # the client gave up (timeout or disconnect): skip its work
                continue
            batch.append(request)
            size += len(request.texts)
        return batch

    async def _compute(self, loop: asyncio.AbstractEventLoop, batch: list[_Request]) -> None:
        texts = [text for request in batch for text in request.texts]
        start = loop.time()
        try:
            proba = await loop.run_in_executor(self._executor, self.predict, texts)
        except asyncio.CancelledError:  # stopping: the requests of this batch must not wait forever
            _fail(batch, Overloaded("the server is shutting down"))
            raise
        except Exception as error:  # a model failure is a server error: hand it to every waiting request
            _fail(batch, error)
            return
        if self.on_batch is not None:
            self.on_batch(len(texts), loop.time() - start)
        offset = 0
        for request in batch:
            rows = proba[offset : offset + len(request.texts)]
            offset += len(request.texts)
            if not request.future.done():
                request.future.set_result(rows)


def _fail(requests, error: Exception) -> None:
    for request in requests:
        if not request.future.done():
            request.future.set_exception(error)
