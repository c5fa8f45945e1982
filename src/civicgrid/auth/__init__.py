"""Users, roles, region scope, passwords, sessions, tokens and API keys."""
