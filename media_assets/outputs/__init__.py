"""What became of each output: where it lives on this machine, and whether it is what was asked.

Knows nothing of Dagster. ``locations`` maps the local service's URLs to the files in the output
folder (``file://`` URLs outlive every process; the service's own URL is what a browser can show);
``inspect`` reads an output file; ``checks`` compares what it holds with what the job asked for.
"""
