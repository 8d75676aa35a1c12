"""The front end: intent text to a checked IR module.  Parsing (grammar/),
type and device checks, the located diagnostics, and `when hw.…` decided
against a probe.
"""
