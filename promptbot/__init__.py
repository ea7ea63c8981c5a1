"""promptbot: team prompt review in Slack."""

__version__ = "0.1.0"
