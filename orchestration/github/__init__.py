"""GitHub: the REST client, PR-body state, the sticky comment, dispatch, matrices, their CLI."""
