"""PostgreSQL backend (MEMORY_DATABASE_URL=postgresql://...)."""
