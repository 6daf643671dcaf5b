"""Live queries over the WebSocket: a registry of queries clients may subscribe to, and a
per-process hub that re-runs subscriptions when the database reports a committed change
to a table they read (kernel/change_capture.py)."""
