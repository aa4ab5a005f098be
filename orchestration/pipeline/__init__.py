"""Pipeline files (model, checks, the runner of `run`) and runs as records the doors share."""
