"""Job types, work orders, visits and their event trail."""
