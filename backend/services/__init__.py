"""Business logic, independent of the HTTP request object."""
