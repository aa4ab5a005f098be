"""Run-time: the artifact envelope, running an agent, result cache, monitoring, logs, schemas."""
