"""The behaviour suite, run against every backend (memory, SQLite file, PostgreSQL)."""
