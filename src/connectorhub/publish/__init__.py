"""Publishing content through a workspace's publisher connectors (WordPress first)."""
