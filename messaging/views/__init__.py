"""Message triage pages, one module per room: queues, managers' settings, outreach,
reports, bill pay, results education, feedback."""
