"""Scheduled work: digest periods, the digest job, the scheduler, reminders."""
