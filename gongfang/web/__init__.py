"""The pages' shared kernel: messages, formatting, templates, static files and guards.

Both the edge's console and the server's pages use it; it imports neither side.
"""
