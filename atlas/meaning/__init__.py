"""The meaning: the typed IR, one definition of every operator run on three
domains (Python, Z3, numpy), terms, and the interpreter every emitted
variant is held to.  Imports nothing else of Atlas.
"""
