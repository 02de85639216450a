"""Names on the wire: Kafka topics, MQTT topic patterns, Redis keys and channels."""

from __future__ import annotations

MQTT_TELEMETRY_FILTER = "plant/+/+/+/telemetry"
MQTT_ACK_FILTER = "plant/+/+/+/ack"
MQTT_DESIRED_FILTER = "plant/+/+/+/desired"


def mqtt_topic(site: str, line: str, machine_id: str, kind: str) -> str:
    """`kind` is telemetry (device -> platform), ack (device -> platform) or desired (platform -> device)."""
    return f"plant/{site}/{line}/{machine_id}/{kind}"


def parse_mqtt_topic(topic: str) -> tuple[str, str, str, str] | None:
    """`plant/{site}/{line}/{machine_id}/{kind}` -> (site, line, machine_id, kind), or None."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "plant" or not all(parts):
        return None
    return parts[1], parts[2], parts[3], parts[4]


class RedisKeys:
    """Redis layout. One hash per machine, a set of known machine ids, and the change stream: every change
    gets the next number of one counter (`seq`), is appended to a capped stream (`changes`, for resume) and
    published on one pub/sub channel (`updates`) that every backend process listens to."""

    def __init__(self, prefix: str = "dtwin") -> None:
        self.prefix = prefix
        self.twin_index = f"{prefix}:twins"
        self.updates_channel = f"{prefix}:updates"
        self.change_seq = f"{prefix}:seq"
        self.change_log = f"{prefix}:changes"
        self.reconciler_lease = f"{prefix}:reconciler:lease"  # which backend process re-sends desired state

    def twin(self, machine_id: str) -> str:
        return f"{self.prefix}:twin:{machine_id}"

    def correlations(self, machine_id: str) -> str:
        """The machine's newest sensor-correlation report (written by scoring, read by the API)."""
        return f"{self.prefix}:corr:{machine_id}"

    def names(self, machine_type: str, kind: str) -> str:
        """The admitted names of one kind (r: sensors, p: reported properties) of a machine type; the
        machine types themselves are `names("types", "t")`."""
        return f"{self.prefix}:names:{kind}:{machine_type}"
