"""Parameter sweeps, the promotion gate, candidate files and the scheduled tune (issue #18)."""
