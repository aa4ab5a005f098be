"""SynthForge review on a pull request: `/forgeflow` commands, the paused review, IaC on request."""
