"""Cold-chain alarms and climate synced from the edges."""
