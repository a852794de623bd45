def demo_plan(today):
    """Not built yet (issue 12)."""
