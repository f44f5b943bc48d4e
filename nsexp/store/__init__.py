"""What the app keeps on disk: uploaded workspaces and pinned readouts."""
