"""Districts, teams and customers: who serves where, and whom."""
