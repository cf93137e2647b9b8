"""Name resolution, type checking and stage checking."""
