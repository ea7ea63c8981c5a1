"""The command line: `promptbot run`, `manifest`, `digest`, `export`, `inputs`, `shell`."""
