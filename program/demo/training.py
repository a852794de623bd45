def demo_training(today):
    """Not built yet (issue 12)."""
