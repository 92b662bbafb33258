"""The HTTP connector builder: test-run an unsaved definition (the API and the wizard's Test
step), and the wizard's pages that draft, check, test and save a definition."""
