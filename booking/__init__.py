"""Offices, services, opening hours, slots and bookings: the resident's side."""
