"""Certification types and records, training courses, sessions and records."""
