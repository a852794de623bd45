def demo_recognition(today):
    """Not built yet (issue 12)."""
