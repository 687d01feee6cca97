"""Shared server plumbing: settings, database, dependencies, errors, metrics."""
