"""The doorbell idle workers wait at: one ring, one worker."""

import asyncio

from adapters.jobs.doorbell import Doorbell


async def _waiters(bell, count, at_most=5.0):
    woken = []

    async def wait(number):
        await bell.wait(at_most)
        woken.append(number)

    tasks = [asyncio.create_task(wait(n)) for n in range(count)]
    await asyncio.sleep(0)
    return woken, tasks


async def test_each_ring_wakes_one_idle_worker_oldest_first():
    bell = Doorbell()
    woken, tasks = await _waiters(bell, 4)
    bell.ring()
    await asyncio.sleep(0.01)
    assert woken == [0]
    bell.ring(2)
    await asyncio.sleep(0.01)
    assert woken == [0, 1, 2]
    bell.ring_all()
    await asyncio.gather(*tasks)
    assert woken == [0, 1, 2, 3]


async def test_a_ring_with_nobody_waiting_is_dropped_and_a_wait_times_out():
    bell = Doorbell()
    bell.ring(5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bell.wait(0.05)
    assert loop.time() - started >= 0.04


async def test_a_worker_that_timed_out_is_not_rung_again():
    bell = Doorbell()
    await bell.wait(0.01)  # times out and leaves
    woken, tasks = await _waiters(bell, 1)
    bell.ring()
    await asyncio.gather(*tasks)
    assert woken == [0]
