"""The process kit both the backend and the pipeline use: the bus and its one factory (`bus.build_bus`), the
dead-letter sender, the infrastructure-failure rule, logging setup and the settings every process shares.
It imports nothing of ours but `dtwin.contracts`; `core` and the rooms build on it."""
