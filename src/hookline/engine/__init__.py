"""The engine: graph, variable scope, templates, processor and dispatcher."""
