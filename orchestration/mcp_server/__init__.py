"""MCP server: Forgeflow's agents and pipelines as Model Context Protocol tools (Copilot)."""
