"""Background jobs of the bot process, each a loop over work kept in the database: settlement of unknown payments,
the monthly reminders, the daily reconciliation report."""
