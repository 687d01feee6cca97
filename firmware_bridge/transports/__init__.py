"""Transports that only move bytes (serial, Modbus RTU registers, MQTT messages)."""
