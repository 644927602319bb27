"""Keeping the instance's database connections open in processes that use it a lot.

Dagster's PostgreSQL storage opens a new connection for every access (SQLAlchemy's ``NullPool``),
so that the many short-lived instances of a deployment hold none open; only the webserver asks
it for a small pool instead (``DagsterInstance.optimize_for_webserver``). A run stores several
events per file and a command reads the event log of the whole library, one connection (a TCP
handshake, authentication and a new server process) per access. Those processes ask for the
webserver's pool too: one connection kept, a few more while threads overlap. On the home's SQLite
event log, which keeps its own connections open, this does nothing.
"""

import weakref

import dagster as dg

POOL_RECYCLE_S = 3600
MAX_OVERFLOW = 4
# Asking twice would replace the pool, leaving the first one's connection to the collector.
_pooled: weakref.WeakSet[dg.DagsterInstance] = weakref.WeakSet()


def keep_connections_open(instance: dg.DagsterInstance) -> None:
    """Make ``instance``'s storage reuse its database connections from now on."""
    if instance in _pooled:
        return
    instance.optimize_for_webserver(
        statement_timeout=0, pool_recycle=POOL_RECYCLE_S, max_overflow=MAX_OVERFLOW
    )
    _pooled.add(instance)
