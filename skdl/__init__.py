"""skdl: scikit-learn estimators for deep learning on PyTorch."""
