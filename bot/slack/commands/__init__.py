"""One module per /kpi subcommand; each exposes ``handle(ctx, question)``."""
