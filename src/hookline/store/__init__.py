"""Storage: the schema, its migrations, and the domain operations over SQLite or PostgreSQL."""
