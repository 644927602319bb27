"""Driving an asyncio coroutine from a Dagster asset body while yielding its events as they come.

Dagster writes events an asset *yields* at once, but buffers those passed to ``context.log_event``
until the body next yields. A body that ran ``asyncio.run`` to the end would therefore record every
file's result only when the whole range is done. Instead the body steps a private event loop in
its own (main) thread and yields, between steps, the events the coroutine queued meanwhile: each
(stage, file) shows up within a fraction of a second of finishing, and a terminated run's
interrupt still reaches the coroutine, whose tasks are cancelled and cancel their remote jobs.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")
E = TypeVar("E")

STEP_SECONDS = 0.25  # how long the loop runs between two drains of the event queue


def drive(coroutine: Coroutine[Any, Any, T], pending: deque[E]) -> Generator[E, None, T]:
    """Run ``coroutine`` to completion, yielding items appended to ``pending`` along the way."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(coroutine)
    try:
        while not main.done():
            loop.run_until_complete(asyncio.wait({main}, timeout=STEP_SECONDS))
            while pending:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
        return main.result()
    except BaseException:
        # Interrupted (the run was terminated) or closed early: cancel the work and let it
        # cancel its remote jobs before the interrupt goes on.
        if not main.done():
            main.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(main)
        raise
    finally:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
