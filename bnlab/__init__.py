"""The `bnlab` command line (the top layer): server commands, `bnlab train`, operator commands."""
