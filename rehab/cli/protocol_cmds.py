"""Commands: protocol_cmds (placeholder until its area lands)."""
