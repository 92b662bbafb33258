"""The run lifecycle that executions and syncs (and publications next) share: queued → running
→ one end, claimed by one worker at a time, cancelled at once or before the next step."""
