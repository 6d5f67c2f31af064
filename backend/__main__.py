"""`python -m backend` serves the API (same as the `trove-backend` script)."""

from backend.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
