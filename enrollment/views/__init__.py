"""Enrollment pages, one module per room: check-in, declines, QR, reports, scripts, set-up."""
