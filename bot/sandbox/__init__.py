"""Sandbox: provider emulators and the Telegram double, faithful to the seeds, for tests and the demo."""
