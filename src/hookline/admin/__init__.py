"""What a person does with hookline — create, edit, version, enable, replay — for the API and the CLI alike."""
