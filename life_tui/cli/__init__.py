"""The command line (typer only lives here): ``life-tui`` and its journal subcommands.

Commands are thin: they parse arguments, call the journal (and later the runtime), and print. Errors
derive from :class:`life_tui.errors.LifeError` and leave through :func:`life_tui.cli.main.run`, which
prints one line and exits with the documented :class:`~life_tui.errors.ExitCode`.
"""
