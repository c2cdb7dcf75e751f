"""Application services: what handlers call. They own short transactions and talk to providers and storage."""
