"""Synthetic training data for the generators in tools/ (repository-only, not installed)."""
