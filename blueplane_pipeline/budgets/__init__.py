"""Budgets: limits on spend per day, week, month or 5-hour block, optionally per project.

``store`` reads and writes ``budgets.json``; ``spend`` computes what was spent from
``token_usage`` into ``run/spend.json`` (the analytics refresh keeps it current);
``evaluate`` turns both into states (ok / 80 % warning / over), the notices to show once,
and whether tool calls are denied. ``store`` and ``evaluate`` are standard library only:
the hook and the statusline use them.
"""
