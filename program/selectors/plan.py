def plan_for_home(user):
    """The current phase, its week and the overdue tasks (issue 12, part 1). Not built yet."""
    return None
