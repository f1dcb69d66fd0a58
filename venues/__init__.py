"""Venue adapters behind one narrow, typed interface (see ``venues.base``)."""
