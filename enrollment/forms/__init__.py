"""Enrollment forms, one module per room."""
