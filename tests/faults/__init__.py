"""The fault suite (issue 16, point 5): one test per fault, on real parts: the real server
(``server.main.create_app``; in a uvicorn child process where it must go down, else on a
thread), real Mosquitto, the real :class:`edge.app.EdgeNode`, real SQLite files. Each
ends with :func:`tests.faults.support.reconcile`: every lot the edge holds is on the
server once (none lost, none doubled, same weights) and the money adds up (the lots'
amounts = the contract's floor prices = the stored daily aggregates = their recount).

Faults already proved elsewhere are kept where they are and listed here (fault: test —
what it proves):

- server down a whole day: tests/faults/test_server_down_day.py — 300 lots weighed
  offline, each accepted once when it is back
- central broker restarted: tests/faults/test_broker_restart.py — the bridge queues the
  lot messages, lots go by HTTP, once; over TLS with sign-in:
  tests/firmware_bridge/test_broker_access.py
- station broker restarted: tests/edge/test_mqtt_restart.py — no QoS 1 reading lost,
  the link reconnects by itself
- edge SIGKILLed repeatedly: tests/e2e/test_edge_kill_recovery.py — 20+ kills while
  recording and syncing, 200 lots once; with crates pending:
  tests/e2e/test_edge_pending_restart.py — they come back with their UUIDs
- the edge's disk full: tests/faults/test_disk_full.py — a clear error, the crate stays
  pending, the outbox passes integrity_check, the lot is stored once space is freed
- the edge clock hours wrong: tests/faults/test_clock_skew.py — flagged (audit,
  /metrics), no lot refused, sent in the order weighed
- corrupt and truncated JPEGs: tests/faults/test_camera_garbage.py — counted and
  logged, the crate waits for the operator or a good photo
- garbage on the other topics: tests/edge/test_mqtt_garbage.py — 10,000 bad payloads
  counted, the good ones among them handled
- an old batch replayed: tests/faults/test_replay.py — duplicates leave the outbox, the
  altered lot is parked as a conflict, the server unchanged; the same lot twice within
  one request: tests/server/test_sync_and_ops.py
- power cut mid-write: tests/faults/test_power_cut.py — after each kill -9 inside a
  write: integrity_check ok, the outbox rows are the lots, no lot half written
"""
