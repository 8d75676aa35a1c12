"""The logic atlas: roots lowered to terms, one e-graph grown by the proven
rules of primitives/rules/, the cheapest proven member extracted, and each
rebuilt function validated against its source as a whole.
"""
