"""HTTP plumbing of one job each, importing nothing else of the project: the security headers and
cache rules of every response (headers.py) and the static files daphne serves itself
(static_files.py). docs/security.md lists what they promise."""
