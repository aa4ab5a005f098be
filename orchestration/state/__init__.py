"""State: the StateStore interface and its stores (a directory, SQLite/PostgreSQL, the factory)."""
