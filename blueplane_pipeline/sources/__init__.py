"""Every platform's own code, one package or module each, registered in ``core.platforms``:
how its stored events become facts, which of them carry token usage, how its history on
disk is imported, which of its hooks are installed. Beside them, what importers share:
offsets, the sink (stream or spool, the same two doors hook events use), stats, the run.
"""
