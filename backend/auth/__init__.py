"""Passwords, bearer tokens and the per-request user guard."""
