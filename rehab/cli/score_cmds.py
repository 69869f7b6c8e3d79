"""Commands: score_cmds (placeholder until its area lands)."""
