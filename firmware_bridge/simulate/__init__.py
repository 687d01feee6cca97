"""Simulated devices: scales on a pty, a Modbus probe served by pymodbus, a whole station.

Everything here is seeded so a run can be repeated exactly.
"""
