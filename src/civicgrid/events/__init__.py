"""Cases (事件): intake from every channel, the declared workflow, deadlines, routing, duplicates."""
