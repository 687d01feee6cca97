"""The station's lot workflow per lane, the grading port and the operator status API."""
