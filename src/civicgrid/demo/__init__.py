"""Demo data for 云州市 (Yunzhou), a fictional city, so civicgrid runs with something to look at.

Every demo code starts with ``99``, a province code no real division uses, so demo rows can
never be mistaken for (or collide with) real statistical division codes.
"""
