"""Package data: the local server's seed fixture (``seed.json``)."""
