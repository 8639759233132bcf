"""Users, roles, sign-in, permission checks and API tokens."""
