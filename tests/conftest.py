import os

# scikit-learn's estimator checks include an array-API check that is skipped unless SciPy's
# array API support is switched on before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
