"""How media_assets sits on Dagster's instance, and the only place that uses Dagster internals.

Everything else in the product uses Dagster's public API; a Dagster upgrade that moves an
internal touches this folder only. Each private use, and why it has no public form:

- ``storage.py``: ``OpenSqliteEventLogStorage`` and ``OpenSqliteRunStorage`` subclass Dagster's
  SQLite event log and run storages to keep their connections open (Dagster opens a new engine
  and connection per access). Storage classes are configured by module and class name in
  ``dagster.yaml``; there is no public base.
- ``stored_events.py``: reads stored event rows (``SqlEventLogStorageTable``) and parses their
  JSON for the manifest, several times faster than Dagster's record API on a large library; any
  row it does not understand is read through the public API instead.
- ``backfills.py``: creates an asset backfill (``PartitionBackfill``) as the UI does, and runs one
  backfill-daemon iteration to close it; outside GraphQL (which needs a running webserver) there
  is no public way to do either.
- ``check_records.py``: builds the pointer from a check evaluation to the materialization it
  judged (``AssetCheckEvaluationTargetMaterializationData``, not exported; only
  ``AssetCheckResult`` fills it, and only for single-partition steps), and reads the
  descriptions of stored check evaluations the way ``stored_events.py`` reads metadata.
- ``dev_server.py``: runs ``dagster dev``'s implementation (webserver and daemon on one code
  server) without its command-line wrapper, which announces on every start that it is
  superseded by ``dg dev`` from a package this project does not use.
- ``daemon.py``: the module behind the ``dagster-daemon`` console script, only where the script is
  missing.
- ``loading.py``: opens a home's instance with the database URL from the settings in place of the
  environment's (``InstanceRef.from_dir`` with overrides); ``DagsterInstance.from_config`` takes
  no overrides.

``config.py`` (the home's ``dagster.yaml`` and ``workspace.yaml``) uses no internals.
"""
