"""The patterns: sequential, parallel, event bus, coordinator and AI planner, feedback loop, batch."""
