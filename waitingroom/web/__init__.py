"""HTTP plumbing of one job each, importing nothing else of the project: the security headers and
cache rules of every response (headers.py), the static files daphne serves itself
(static_files.py) and request body limits applied before Django reads a body (body_limit.py).
docs/security.md lists what they promise."""
