"""The `newsarchive` subcommands, one module per group of related commands."""
