"""MQTT <-> Kafka bridge."""
