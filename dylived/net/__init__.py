"""I/O adapters to the platforms: ``http`` (httpx) and ``ws`` (websockets); foreign errors are
translated into :mod:`dylived.errors` here and nowhere else."""
