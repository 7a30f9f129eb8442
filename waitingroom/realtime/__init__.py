"""Realtime infrastructure: pushing hints to browsers over websockets.

One job per module: `publisher` (the only code that sends to the channel layer), `messages` (every
message type: direction, audience, fields; docs/realtime.md), `groups` (every group name and its
audience), `consumer` (the base of every app's consumers), `handshake` (origin allow-list and
login before a consumer runs), `batching` (many sockets' database writes in few calls), `layers`
(the Redis channel layer's configuration) and `gc_tuning` (a process holding thousands of sockets).
Apps above import the module they need; nothing is re-exported here.
"""
