"""A throwaway feature ("note"), declared only in the test suite: an entity, a repository (SQL and
its own migration branch), one router, default policy rules, an error with its messages, and a
share of GDPR export and erasure. `test_feature_registration.py` serves it beside the real
features without editing any shared file: the proof that adding a feature is additive.
"""
