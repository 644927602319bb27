"""The Dagster instance of media_assets: its ``dagster.yaml`` template and its event log storage."""
