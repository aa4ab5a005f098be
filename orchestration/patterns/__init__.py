"""The patterns: sequential, parallel, event bus, coordinator, AI planner, feedback loop, batch."""
