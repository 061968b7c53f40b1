"""Reusable widgets used by the panels."""
