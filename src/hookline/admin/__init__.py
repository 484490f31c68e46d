"""What a person does with workflows and executions, shared by the admin API and the CLI."""
