"""The app's state shared by panels (current dataset and run) and what outlives a session
(settings, session restore)."""
