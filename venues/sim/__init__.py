"""The simulated venue: an adapter like the others, with its own account store."""
