"""Firmware bridge: station scales and cold-room probes → the MQTT topics of DESIGN.md.

- ``protocols/``: pure byte parsers (耀华 XK3190-A9, Mettler Toledo MT-SICS, SHT20-type
  probes over Modbus RTU) and exact unit conversion to grams.
- ``transports/``: serial ports (pyserial), Modbus RTU (pymodbus), MQTT (paho-mqtt).
- ``config.py`` / ``devices.py``: a station's TOML device list, each device on its own
  thread with its retained online/offline status (``gongfang bridge``).
- ``simulate/``: scales on ptys, a pymodbus-served probe, and a whole station's day
  straight onto MQTT (``gongfang simulate``).

Deployed on station boxes: never imports ``server/`` or ``edge/``.
"""
