"""SynthForge analysis: diagram reading, classification, review, flows, security, cost, report."""
