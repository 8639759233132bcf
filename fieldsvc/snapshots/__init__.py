"""Stored figures: the metric snapshots fieldsvc.metrics writes, read by any domain (dispatch
suggestions, the dashboard, the API). They sit low so that a reader below the metrics engine
(work orders) needs nothing from above it."""
