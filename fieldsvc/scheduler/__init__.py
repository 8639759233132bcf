"""The scheduler: the jobs that keep the metric snapshots current and send the daily alerts, run
exactly once per period across every process (`claims`), listed as data (`jobs`), driven by
APScheduler in the one dedicated process `fieldsvc scheduler` (`process`); the backfill of past
periods (`backfill`) and what the admin health page reads (`health`)."""
