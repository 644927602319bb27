"""Running the pipeline's event loop beside a Dagster asset body that yields its events.

Dagster writes events an asset *yields* at once, but buffers those passed to ``context.log_event``
until the body next yields; and it writes them in the body's thread. So the coroutine runs on an
event loop in a worker thread and posts its events to a queue, and the body (main thread) yields
them as they arrive. Results show up within a fraction of a second, and writing them never pauses
the loop that is polling remote jobs.

A terminated run is interrupted in the main thread: the body then cancels the coroutine on its
loop and waits for it, so the chains cancel their remote jobs before the interrupt goes on.
"""

import asyncio
import contextlib
import queue
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_WAKE = object()  # posted last, once the coroutine has ended: everything it posted came before
CANCEL_WAIT_SECONDS = 120.0


class LoopThread(Generic[T]):
    """Runs one coroutine on a private event loop in a worker thread."""

    def __init__(self, coroutine: Coroutine[Any, Any, T]) -> None:
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(coroutine)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="media-pipeline-loop", daemon=True)

    def post(self, item: object) -> None:
        """Hand ``item`` to the reader; callable from the loop's thread."""
        self._queue.put(item)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            with contextlib.suppress(BaseException):  # the reader collects it from the task
                self._loop.run_until_complete(self._task)
        finally:
            with contextlib.suppress(BaseException):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._queue.put(_WAKE)

    def items(self) -> Iterator[object]:
        """Start the loop and yield what it posts until the coroutine ends."""
        self._thread.start()
        try:
            while True:
                try:
                    # A timeout keeps the wait interruptible on every platform.
                    item = self._queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is _WAKE:
                    break
                yield item
        except BaseException:
            self._cancel()
            raise

    def _cancel(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(CANCEL_WAIT_SECONDS)

    @property
    def result(self) -> T:
        """The coroutine's result (or its exception), once ``items`` is exhausted."""
        return self._task.result()
