"""Bulk onboarding of installers from a spreadsheet: parse (parse.py), preview and apply (services.py)."""
