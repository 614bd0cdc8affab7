"""The SQLite store: schema migrations, the single writer, read queries, and export."""
