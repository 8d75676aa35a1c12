"""Fuzzing campaigns: random programs compiled every way and compared with
the interpreter, and mutated intent files that must end in a located error
or an accepted program, never a traceback or a hang."""
