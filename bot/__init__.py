"""Pay utility bills in Telegram."""
