"""Run-time grading: OpenCV measurement + ONNX classification."""
