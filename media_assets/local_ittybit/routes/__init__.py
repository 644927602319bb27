"""HTTP handlers, one module per resource; thin wrappers over the service."""
