"""Scripts that make the repository's documentation artefacts (``docs/``)."""
