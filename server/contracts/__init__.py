"""Purchase contracts."""
