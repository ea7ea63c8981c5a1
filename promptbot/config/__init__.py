"""Configuration, by concern: ``settings`` (the app.yaml fields, declared once with default
and help), ``environment`` (the variables we read), ``loading`` (app.yaml to a validated
``AppConfig``), ``reference`` (the README tables generated from both) and ``crontab``
(how a schedule line is read)."""
