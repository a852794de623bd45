def training_owed(user):
    """The training modules this person is due or overdue on (issue 12, part 2). Not built yet."""
    return []


def training_evidence(module_key):
    """Evidence that a training module is complete: every active staff member of the
    module's required roles holds a current completion (an Evidence), else None.

    Placeholder in the plan's branch: the training part (issue 12, part 2)
    implements it, and the lead keeps that one when merging.
    """
    return None
