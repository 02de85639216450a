"""Device identity on MQTT: per-device credentials in Mosquitto's password file and the ACL that ties a
device to its own topics (credentials.py), and the `dtwin devices` commands (cli.py)."""
