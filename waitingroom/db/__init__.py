"""Database connections: the pooled PostgreSQL backend (`pgpool`, settings' ENGINE
"waitingroom.db.pgpool") and closing an HTTP request's connections when it finishes
(`connections`). Nothing else of the project is imported here."""
