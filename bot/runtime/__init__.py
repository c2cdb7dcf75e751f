"""How the process runs: logging, long polling, the terminal demo and the one-shot reconcile command."""
