"""Base data (人、地、事、物、组织, GB/T 31000-2015), one person one record (一人一档),
people under care (重点人群) and five-colour risk (五色管控), private by default."""
