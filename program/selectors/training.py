def training_owed(user):
    """The training modules this person is due or overdue on (issue 12, part 2). Not built yet."""
    return []
