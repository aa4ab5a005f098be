"""SynthForge, the reference application: a cloud architecture diagram to reviewed, costed IaC."""
