"""GitHub: the REST client, PR-body state, sticky comment, dispatch, matrices, job summary, CLI."""
