"""Every keyboard the bot shows, built in one place."""
