"""Photo renderers with known geometry: training data for the 箬叶 defect model, ground truth
for the grading tests, and camera frames for the station simulator.

Everything is drawn with OpenCV and numpy; nothing is downloaded.
"""
