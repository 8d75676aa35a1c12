"""The search: hardware-specific variants of each function (forms, loop
shapes, backend knobs) measured on the real machine, the profile that
steers it and the archive that remembers it.
"""
