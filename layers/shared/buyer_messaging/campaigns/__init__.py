"""Campaigns: one manifest of many rows, each row one message (README, "Campaigns")."""
