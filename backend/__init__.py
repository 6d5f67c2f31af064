"""Trove backend: users, folders, files and resumable uploads over HTTP."""
