"""The micro-batcher: concurrent requests merge into few predict_proba calls; limits, failures and shutdown."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from agileclf.serve.batcher import MicroBatcher, Overloaded


def run(coro):
    """Run a scenario; a hung batcher fails the test instead of hanging the suite."""

    async def bounded():
        return await asyncio.wait_for(coro, 30)

    return asyncio.run(bounded())


def test_concurrent_requests_share_predict_proba_calls(counting):
    texts = [f"my card was charged twice for order {i}" for i in range(12)] + ["where is my parcel"] * 4

    async def scenario():
        batcher = MicroBatcher(counting.predict_proba, max_batch_texts=64, max_wait_s=0.05, name="tickets")
        await batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit([text]) for text in texts))
        finally:
            await batcher.stop()

    rows = run(scenario())
    assert sum(counting.batch_sizes) == len(texts)
    assert len(counting.batch_sizes) < len(texts) / 4, counting.batch_sizes  # 16 requests, a few calls
    expected = counting.inner.predict_proba(texts)
    np.testing.assert_allclose(np.vstack(rows), expected, atol=1e-5)  # each request got its own rows


def test_batches_stay_within_max_batch_texts():
    sizes = []

    def predict(texts):
        sizes.append(len(texts))
        return np.tile([[0.25, 0.75]], (len(texts), 1))

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_texts=7, max_wait_s=0.02)
        await batcher.start()
        results = await asyncio.gather(*(batcher.submit(["t"] * 3) for _ in range(10)), batcher.submit(["t"] * 9))
        await batcher.stop()
        return results

    results = run(scenario())
    assert [len(r) for r in results] == [3] * 10 + [9]
    assert sum(sizes) == 39
    assert all(size <= 7 or size == 9 for size in sizes), sizes  # a lone request over the bound runs alone
    assert max(size for size in sizes if size != 9) == 6  # two requests of 3 fit, a third would not


def test_single_request_is_not_held_longer_than_max_wait():
    async def scenario():
        batcher = MicroBatcher(lambda texts: np.ones((len(texts), 2)) / 2, max_wait_s=0.01)
        await batcher.start()
        loop = asyncio.get_running_loop()
        start = loop.time()
        await batcher.submit(["one"])
        elapsed = loop.time() - start
        await batcher.stop()
        return elapsed

    assert run(scenario()) < 1.0


def test_full_queue_is_refused_and_stop_releases_waiting_requests():
    release = threading.Event()

    def slow_predict(texts):
        release.wait(5)
        return np.ones((len(texts), 2)) / 2

    async def scenario():
        batcher = MicroBatcher(slow_predict, max_batch_texts=2, max_wait_s=0, max_queued_texts=4)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit(["a", "b"]))  # taken into the (blocked) model call
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(batcher.submit(["c", "d"])), asyncio.ensure_future(batcher.submit(["e"]))]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await batcher.submit(["f", "g"])  # 3 queued + 2 > 4
        await batcher.stop()
        release.set()
        outcomes = await asyncio.gather(first, *queued, return_exceptions=True)
        return outcomes

    outcomes = run(scenario())
    assert all(isinstance(outcome, Overloaded) for outcome in outcomes), outcomes


def test_model_error_reaches_every_request_of_the_batch():
    def broken(texts):
        raise ValueError("bad weights")

    async def scenario():
        batcher = MicroBatcher(broken, max_wait_s=0.02)
        await batcher.start()
        outcomes = await asyncio.gather(*(batcher.submit(["x"]) for _ in range(3)), return_exceptions=True)
        alive = batcher.running
        await batcher.stop()
        return outcomes, alive

    outcomes, alive = run(scenario())
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert alive  # one failed batch does not kill the batching task


def test_submit_before_start_is_refused():
    batcher = MicroBatcher(lambda texts: np.ones((len(texts), 2)))
    with pytest.raises(Overloaded):
        run(batcher.submit(["x"]))
