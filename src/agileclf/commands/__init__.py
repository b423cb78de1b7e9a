"""The `agileclf` subcommands beyond train / evaluate / predict, one module per family; `agileclf.cli` registers
them. Like cli.py they parse, call the library (mostly `agileclf.workflow`) and print."""
