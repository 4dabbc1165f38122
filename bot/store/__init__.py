"""Storage: one interface (base.Store), one SQLAlchemy implementation for SQLite and PostgreSQL."""
