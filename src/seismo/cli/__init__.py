"""Stage 7, production: the `seismo` command (`app`), the YAML config, sources, validation and
the scheduled job that writes a run's results to the store."""
