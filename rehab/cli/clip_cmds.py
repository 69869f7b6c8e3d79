"""Commands: clip_cmds (placeholder until its area lands)."""
