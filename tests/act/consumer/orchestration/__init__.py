"""The consumer's own orchestration package (not Forgeflow's): importing it leaves a canary."""

from pathlib import Path

Path(__file__).resolve().parent.parent.joinpath("canary-orchestration").write_text("imported\n")
raise ImportError("the consumer's own orchestration package was imported instead of Forgeflow's")
