"""The consumer's own agents package (not Forgeflow's): importing it leaves a canary."""

from pathlib import Path

Path(__file__).resolve().parent.parent.joinpath("canary-agents").write_text("imported\n")
raise ImportError("the consumer's own agents package was imported instead of Forgeflow's")
