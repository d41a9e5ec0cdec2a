"""LambdaMART (LightGBM-compatible lambdarank gradients). Being written in branch `lambdamart`."""
