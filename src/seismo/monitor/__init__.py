"""Stage 5, the whole picture: `Monitor` runs the calculators together, ranks the drift that
tracks the performance drop, and gathers everything into a `Report` with plots and HTML."""
