"""`python -m etl` is `hfsnap`."""

from .cli import entrypoint

entrypoint()
