"""Configuration: variant files, venues.yaml and runner.yaml, loaded strictly with line numbers."""
