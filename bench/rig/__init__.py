"""A multi-host Mediaflow deployment on one Linux machine, for measurements and failure drills.

`make rig` (root) runs `python -m bench.rig`; see bench/rig/__main__.py for what it runs and
bench/rig/topology.py for the hosts. Nothing here runs in CI.
"""
