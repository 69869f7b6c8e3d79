"""Commands: store_cmds (placeholder until its area lands)."""
