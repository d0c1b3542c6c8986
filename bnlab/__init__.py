"""bnlab's shared contracts (the job spec, settings) and its command line; importable without torch."""
