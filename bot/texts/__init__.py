"""What the user is told, in one place per subject: payments and receipts, outcome codes, accounts, cards, field
labels. Shared by handlers and background jobs, so both say the same thing."""
