"""The strawberry ripeness/defect classifier: data, training, export and the shipped model."""

LABELS: tuple[str, ...] = ("unripe", "turning", "ripe", "defect")
