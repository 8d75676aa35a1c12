"""The machine: the probe of this or another machine, the backend plugin
interface, and the runtime that loads a compiled library and holds calls to
the signatures in its manifest.
"""
