"""dtwin data pipeline: device simulator and the MQTT <-> Kafka bridge."""
