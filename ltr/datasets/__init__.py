from ._svmlight import load_svmlight
