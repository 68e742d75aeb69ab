"""Persistence: SQLModel tables, engine and session handling, named queries and migrations."""
