def current_champion():
    """This month's portal champion, if a manager named one (issue 12, part 4). Not built yet."""
    return None
