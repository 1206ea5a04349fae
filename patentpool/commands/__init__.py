"""Subcommand groups of `patentpool`, one module per group."""
