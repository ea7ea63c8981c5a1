"""Slack listeners, one module per surface. They parse the payload, call the core,
and render the reply; everything else lives in promptbot/ and storage/."""
