"""The HTTP connector definition: its steps (model.py), the placeholders they may hold
(placeholders.py) and the values a run gives them (values.py). Connectors, templates and
executions share it; it knows nothing of the database or of HTTP."""
