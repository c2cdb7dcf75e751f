"""The money engine: the claimed ledger, one module per rail, the runner that settles unknown outcomes."""
