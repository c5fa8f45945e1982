"""The web shell: dependencies, error rendering, language, templates and static assets."""
