"""The superoptimiser: the search over short straight-line programs (its
enumeration and stochastic chain are atlas/logic/enumeration.py and
stochastic.py, which the logic atlas also uses for while loops' closed
forms) driven over the roots of intent files, the machine's cost model that
ranks them, and the discovery of new rules from what it finds.
"""
