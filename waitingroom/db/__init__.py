"""Database connections: the pooled PostgreSQL backend (`pgpool`, settings' ENGINE
"waitingroom.db.pgpool"), closing an HTTP request's connections when it finishes
(`connections`), and the 503 answer to a request made while the database is unreachable
(`unavailable`). Nothing else of the project is imported here."""
