"""The superoptimiser: a stochastic search over short straight-line programs,
the machine's cost model that ranks them, and the discovery of new rules
from what it finds.
"""
