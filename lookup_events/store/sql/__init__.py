"""The SQL stores: SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""
