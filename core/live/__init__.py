"""Live sensor layers: feed configuration, latest values, MQTT messages (pure Python)."""
