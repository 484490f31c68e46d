"""The ASGI application: the webhook route, health, and errors turned into JSON answers."""
