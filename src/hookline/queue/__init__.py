"""The queue: workers that claim queued executions from the store and run them."""
