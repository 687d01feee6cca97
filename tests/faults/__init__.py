"""The fault suite (issue 16, point 5): one test per fault, each run on real parts (the
real server in a subprocess, real Mosquitto, the real :class:`edge.app.EdgeNode`, real
SQLite files), each ending with the same reconciliation
(:func:`tests.faults.support.reconcile`): every lot the edge holds is on the server once,
none lost, none doubled, and the money adds up (lots = stored aggregates = recount).

| fault | test |
|---|---|
| server down for the whole day, then back | tests/faults/test_server_down_day.py |
| central broker restarted (QoS 1 readings, none lost) | tests/edge/test_mqtt_restart.py |
| station broker restarted while crates are weighed | tests/faults/test_broker_restart.py |
| edge SIGKILLed repeatedly, recording and syncing | tests/e2e/test_edge_kill_recovery.py |
| edge SIGKILLed with crates waiting for confirmation | tests/e2e/test_edge_pending_restart.py |
| the edge's disk full | tests/faults/test_disk_full.py |
| the edge clock hours wrong | tests/faults/test_clock_skew.py |
| corrupt and truncated JPEGs on the camera topic | tests/faults/test_camera_garbage.py |
| garbage on every other topic (10,000 payloads) | tests/edge/test_mqtt_garbage.py |
| a station replaying an old batch | tests/faults/test_replay.py |
| the same lot twice / altered in one request | tests/server/test_sync_and_ops.py |
| power cut mid-write (kill -9 inside a write) | tests/faults/test_power_cut.py |
"""
