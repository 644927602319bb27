"""What media_assets keeps in a deployment's PostgreSQL database, beside Dagster's own storage.

With ``MEDIA_ASSETS_DATABASE_URL`` set, every machine of a deployment shares one database: Dagster
keeps its runs, event log and schedules there (dagster-postgres), and media_assets keeps

- ``registry.py``: the source registry (what each partition key's file is), the table
  ``media_assets_sources``;
- ``slots.py``: the in-flight cap, as session-level advisory locks the server releases when a
  holder's connection drops, handed out in turn between processes;
- ``request_rate.py``: the API request-rate ceiling, one shared schedule row per API;
- ``lease.py``: a named lease held for a process's lifetime (one Dagster daemon per deployment);
- ``scratch_server.py``: a throwaway local server for tests and benchmarks.

Nothing here knows Dagster; ``connection.py`` is the one place connections are made.
"""
