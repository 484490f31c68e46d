"""The webhook trigger: authentication, request parsing, the trigger context and answers."""
