"""Features: each module here declares one feature (`FEATURE`); `enabled.py` lists those served."""
