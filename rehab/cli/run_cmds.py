"""Commands: run_cmds (placeholder until its area lands)."""
