"""media_assets: a media library turned into derived assets through Ittybit, run by Dagster."""

__version__ = "0.1.0"
