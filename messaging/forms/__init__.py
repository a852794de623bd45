"""Message triage forms, one module per room."""
