"""OAuth 2.0: connecting an account with one button, and keeping every token alive."""
