"""Settings declared once (app.yaml and the environment), loading, and their reference."""
