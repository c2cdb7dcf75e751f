"""Per-update context: the user's profile, the locale, one log line per update."""
