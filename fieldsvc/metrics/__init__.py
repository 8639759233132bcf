"""Installation-quality metrics: rules, snapshots, scheduled job runs."""
