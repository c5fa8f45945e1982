"""Petitions (信访): registration, triage, leader ownership, the 信访工作条例 timeline, repeat detection."""
